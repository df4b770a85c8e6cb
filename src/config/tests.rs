use serde::Deserialize;
use serde::de::{self, Visitor};

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, "test.toml")
}

fn refused(text: &str) -> ConfigError {
    parse(text)
        .and_then(|c| c.validate(&Overrides::default()))
        .expect_err(text)
}

/// The example config with every `# key = value` line uncommented, and the lines of a
/// value that spans several (`# key = [` or `# key = """` to the closing line). Indented
/// comment lines (`#   name = …`, examples of a setting) stay comments.
fn example_uncommented() -> String {
    uncomment(include_str!("../../deploy/agedrop.example.toml"))
}

fn uncomment(text: &str) -> String {
    let mut out = Vec::new();
    let mut closing: Option<&str> = None;
    for l in text.lines() {
        if let Some(close) = closing {
            let rest = l
                .strip_prefix("# ")
                .or_else(|| l.strip_prefix('#'))
                .unwrap_or(l);
            if rest.trim() == close {
                closing = None;
            }
            out.push(rest);
            continue;
        }
        match l.strip_prefix("# ") {
            Some(rest)
                if rest.starts_with(|c: char| c.is_ascii_lowercase()) && rest.contains(" = ") =>
            {
                closing = match rest.split_once(" = ").map(|(_, v)| v.trim()) {
                    Some("[") => Some("]"),
                    Some("\"\"\"") => Some("\"\"\""),
                    _ => None,
                };
                out.push(rest);
            }
            _ => out.push(l),
        }
    }
    out.join("\n")
}

#[test]
fn defaults_are_valid() {
    let c = Config::default().validate(&Overrides::default()).unwrap();
    assert_eq!(c, Config::default());
    assert!(c.server.tls().is_none());
}

#[test]
fn example_config_states_the_defaults() {
    // Uncommenting every `# key = value` line of the example gives the defaults, all of
    // them: a default that drifts from what the example documents fails here.
    let mut defaults = Config::default();
    // Except TLS, which has no default: the example shows certbot's file names.
    defaults.server.tls_cert = Some("/etc/agedrop/tls/fullchain.pem".into());
    defaults.server.tls_key = Some("/etc/agedrop/tls/privkey.pem".into());
    // Nor ACME: the example shows a name, a contact and a CA file.
    let server = &mut defaults.server;
    server.acme_domains = vec![AcmeDomain::try_from("security.example.com".to_string()).unwrap()];
    server.acme_contact = Some(AcmeContact::try_from("security@example.com".to_string()).unwrap());
    server.acme_ca_file = Some("/etc/agedrop/acme-ca.pem".into());
    assert_eq!(parse(&example_uncommented()).unwrap(), defaults);
}

#[test]
fn example_config_shows_every_setting() {
    let example: toml::Table = toml::from_str(&example_uncommented()).unwrap();
    for (section, keys) in [
        ("server", fields_of::<Server>()),
        ("programme", fields_of::<Programme>()),
        ("limits", fields_of::<Limits>()),
        ("notify", fields_of::<Notify>()),
    ] {
        assert!(!keys.is_empty(), "{section}");
        // `[notify.smtp]` is a table with no default, shown as an example (notify.rs).
        for key in keys.iter().filter(|k| **k != "smtp") {
            assert!(
                example[section].get(key).is_some(),
                "{section}.{key} is missing from deploy/agedrop.example.toml"
            );
        }
    }
}

#[test]
fn the_example_assets_are_valid_and_show_every_key() {
    // The example shows assets as indented comments (uncommenting them would change
    // the defaults): they must read as written once uncommented.
    let example = include_str!("../../deploy/agedrop.example.toml");
    let start = example.find("#   [[programme.assets]]").unwrap();
    let block: Vec<&str> = example[start..]
        .lines()
        .take_while(|l| l.starts_with("#   ") || *l == "#")
        .map(|l| l.trim_start_matches('#').trim())
        .collect();
    let c = parse(&block.join("\n")).unwrap();
    assert_eq!(c.programme.assets.len(), 2);
    assert_eq!(
        c.programme.assets[0].label(),
        "example.com (web application)"
    );
    assert!(!c.programme.assets[1].versions.is_empty());
    for key in fields_of::<text::Asset>() {
        assert!(
            block.iter().any(|l| l.starts_with(&format!("{key} = "))),
            "the example's assets do not show `{key}`"
        );
    }
}

#[test]
fn the_default_policy_is_complete() {
    // A team that changes nothing still publishes a whole policy.
    let p = Programme::default();
    assert!(!p.out_of_scope.is_empty());
    assert!(!p.not_vulnerabilities.is_empty());
    for text in [&p.safe_harbour, &p.credit_policy, &p.reward] {
        assert!(text.paragraphs().len() == 1, "{}", text.as_str());
        assert!(!text.as_str().contains("  "), "{}", text.as_str());
    }
}

/// The keys serde knows for a struct: it is asked to read itself from a deserializer
/// that only notes the field names it is offered.
pub(super) fn fields_of<T: for<'de> Deserialize<'de>>() -> &'static [&'static str] {
    struct Note<'a>(&'a mut &'static [&'static str]);
    impl<'de> de::Deserializer<'de> for Note<'_> {
        type Error = de::value::Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("noted"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Note(&mut fields));
    fields
}

#[test]
fn public_plain_http_is_refused_unless_explicit() {
    let o = Overrides {
        listen: Some("0.0.0.0:80".into()),
        ..Default::default()
    };
    let e = Config::default().validate(&o).unwrap_err();
    assert_eq!(e.setting, "server.listen");
    let o = Overrides {
        allow_plain_http: true,
        ..o
    };
    // A public address also needs the name it is reached at (logins are bound to it).
    let e = Config::default().validate(&o).unwrap_err();
    assert_eq!(e.setting, "server.public_url");
    let c = parse("[server]\npublic_url = \"https://security.example.com\"\n").unwrap();
    assert!(c.validate(&o).is_ok());
}

#[test]
fn errors_name_the_setting() {
    // (config, the setting named, part of the message)
    let cases = [
        (
            "[limits]\nmax_files = 0\nmax_upload_mib = 0\n",
            "limits.max_upload_mib",
            "must be greater than 0 (in test.toml, line 3)",
        ),
        (
            "[limits]\nidle_timeout_seconds = 0",
            "limits.idle_timeout_seconds",
            "greater than 0",
        ),
        (
            "[limits]\nsubmissions_per_minute = 0",
            "limits.submissions_per_minute",
            "greater than 0",
        ),
        (
            "[limits]\nmax_text_kib = 1025",
            "limits.max_text_kib",
            "use at most 1024 (KiB)",
        ),
        (
            "[limits]\nmax_files = 1001",
            "limits.max_files",
            "use at most 1000",
        ),
        ("[limits]\nmax_event_kib = -1", "limits.max_event_kib", "-1"),
        (
            "[server]\ncache_mib = 7",
            "server.cache_mib",
            "use at least 8 (MiB)",
        ),
        (
            "[server]\nlisten = \"nowhere\"",
            "server.listen",
            "`nowhere` is not an address",
        ),
        (
            "[server]\nonion_address = \"example.com\"",
            "server.onion_address",
            ".onion",
        ),
        (
            "[server]\npublic_url = \"ftp://x\"",
            "server.public_url",
            "http:// or https://",
        ),
        (
            "[programme]\npolicy_url = \"x y\"",
            "programme.policy_url",
            "http:// or https://",
        ),
        (
            "[programme]\nname = \" \"",
            "programme.name",
            "1 to 100 characters",
        ),
        (
            "[programme]\nsecurity_txt_expires = \"2027-01-01T00:00:00Z\"",
            "programme.security_txt_expires",
            "renewed every day: delete this line",
        ),
        (
            "[programme]\nsecurity_txt_days = 365",
            "programme.security_txt_days",
            "use at most 364",
        ),
        (
            "[programme]\npolicy_file = \"/nonexistent/policy.md\"",
            "programme.policy_file",
            "cannot read /nonexistent/policy.md",
        ),
        (
            "[programme]\nlanguages = \"English\"",
            "programme.languages",
            "not a list of language tags",
        ),
        (
            "[programme]\nout_of_scope = [\"\"]",
            "programme.out_of_scope[0]",
            "1 to 300 characters",
        ),
        (
            "[[programme.assets]]\nkind = \"web\"",
            "programme.assets[0]",
            "missing field `name`",
        ),
        (
            "[[programme.assets]]\nname = \"a\"\n[[programme.assets]]\nname = \"a\"",
            "programme.assets",
            "two assets are named “a”",
        ),
        (
            "[programme]\ncsaf_provider_url = \"http://example.com/.well-known/csaf/provider-metadata.json\"",
            "programme.csaf_provider_url",
            "provider-metadata.json",
        ),
        (
            "[programme]\ncsaf_provider_url = \"https://example.com/csaf\"",
            "programme.csaf_provider_url",
            "provider-metadata.json",
        ),
        (
            "[programme]\nembargo_days = \"ninety\"",
            "programme.embargo_days",
            "expected u32",
        ),
        // Settings only wrong together, found by `validate`:
        (
            "[limits]\nmax_upload_mib = 10\nmax_file_mib = 11",
            "limits.max_file_mib",
            "never be reached",
        ),
        (
            "[limits]\nsession_idle_seconds = 60\nsession_max_seconds = 59",
            "limits.session_idle_seconds",
            "never apply",
        ),
        (
            "[server]\ntls_cert = \"/nonexistent\"",
            "server.tls_key",
            "set tls_key too",
        ),
        (
            "[server]\ntls_cert = \"/nonexistent\"\ntls_key = \"/nonexistent\"",
            "server.tls_cert",
            "does not exist",
        ),
        (
            "[server]\nacme_domains = [\"*.example.com\"]",
            "server.acme_domains[0]",
            "no wildcard",
        ),
        (
            "[server]\nacme_contact = \"security\"",
            "server.acme_contact",
            "not an e-mail address",
        ),
        (
            "[server]\nacme_domains = [\"a.example.com\"]\ntls_cert = \"/x\"\ntls_key = \"/x\"",
            "server.acme_domains",
            "not both",
        ),
        (
            "[server]\nacme_domains = [\"a.example.com\"]\npublic_url = \"https://b.example.com\"",
            "server.acme_domains",
            "does not hold b.example.com",
        ),
        (
            "[server]\nacme_domains = [\"a.example.com\"]\nacme_ca_file = \"/nonexistent\"",
            "server.acme_ca_file",
            "does not exist",
        ),
        (
            "[server]\nredirect_http = \"127.0.0.1:80\"\npublic_url = \"https://a.example.com\"",
            "server.redirect_http",
            "has no TLS",
        ),
        (
            "[server]\nredirect_http = \"127.0.0.1:80\"\nacme_domains = [\"a.example.com\"]",
            "server.redirect_http",
            "set that to the https:// address",
        ),
    ];
    for (text, setting, message) in cases {
        let e = refused(text);
        assert_eq!(e.setting, setting, "{text}");
        assert!(e.message.contains(message), "{text}: {}", e.message);
    }
}

#[test]
fn a_misspelt_key_is_named_and_the_example_suggested() {
    let e = refused("[server]\nlisten_typo = 1\n");
    assert_eq!(e.setting, "test.toml");
    assert!(e.message.contains("listen_typo"), "{}", e.message);
    assert!(e.message.contains("agedrop.example.toml"), "{}", e.message);
    let e = refused("[limits\n");
    assert_eq!(e.setting, "test.toml");
}

#[test]
fn flags_override_the_file() {
    let c = parse("[server]\nlisten = \"127.0.0.1:1\"\ndata = \"/a\"\n").unwrap();
    let o = Overrides {
        listen: Some("127.0.0.1:2".into()),
        data: Some("/b".into()),
        ..Default::default()
    };
    let c = c.validate(&o).unwrap();
    assert_eq!(c.server.listen.port(), 2);
    assert_eq!(c.server.data, Path::new("/b"));
    let o = Overrides {
        listen: Some("nowhere".into()),
        ..Default::default()
    };
    assert_eq!(
        Config::default().validate(&o).unwrap_err().setting,
        "server.listen"
    );
}

#[test]
fn text_settings_are_normalised() {
    let c = parse(
        "[server]\nonion_address = \" http://abc.onion/ \"\npublic_url = \"\"\n\
         [programme]\nname = \"  Example  \"\nscope = \" web \"\npolicy_url = \"\"\n",
    )
    .unwrap();
    assert_eq!(c.server.onion_address.unwrap().as_str(), "abc.onion");
    assert_eq!(c.server.public_url, None);
    assert_eq!(c.programme.name.as_str(), "Example");
    assert_eq!(c.programme.scope.as_str(), "web");
    assert_eq!(c.programme.policy_url, None);
}

#[test]
fn the_onion_address_is_read_from_tors_hostname_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostname");
    let onion = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion";
    std::fs::write(&file, format!("{onion}\n")).unwrap();
    let with = |extra: &str| {
        format!(
            "[server]\nonion_hostname_file = {:?}\n{extra}",
            file.display().to_string()
        )
    };
    let c = parse(&with(""))
        .and_then(|c| c.validate(&Overrides::default()))
        .unwrap();
    assert_eq!(c.server.onion_address.unwrap().as_str(), onion);
    // Both given: they must agree.
    let e = refused(&with("onion_address = \"other.onion\"\n"));
    assert_eq!(e.setting, "server.onion_address");
    assert!(e.to_string().contains("set one of them"), "{e}");
    // Missing or not an address: the setting is named, with what to check.
    std::fs::remove_file(&file).unwrap();
    let e = refused(&with(""));
    assert_eq!(e.setting, "server.onion_hostname_file");
    assert!(e.to_string().contains("Is Tor running"), "{e}");
    std::fs::write(&file, "not an onion\n").unwrap();
    let e = refused(&with(""));
    assert!(
        e.to_string().contains("does not hold an onion address"),
        "{e}"
    );
}
