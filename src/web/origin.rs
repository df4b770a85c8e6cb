//! The names this server answers to, for team logins: a login challenge names the
//! server's own origin, and the desk refuses a challenge for any other, so a second
//! server a member also uses cannot relay this one's challenges to them.
//!
//! The origins are `server.public_url` and the onion address. A server with neither (the
//! demo, a trial on one machine) listening on loopback answers to loopback names at any
//! port instead, SSH tunnels included. A server that has a public name never answers to
//! loopback names: otherwise a compromised server that a member reaches through a
//! tunnel at `localhost:P` could ask this one, over Tor, for a challenge naming
//! `localhost:P` and pass it on. A request's `Host` header picks one of the origins; a
//! name the server does not know gets no challenge.

use std::net::SocketAddr;

use axum::http::{HeaderMap, header};

use crate::config::Config;

/// Every origin the server may put in a login challenge.
pub(super) struct Origins {
    named: Vec<url::Origin>,
    /// The scheme loopback names are reached with, when they are allowed at all.
    loopback: Option<&'static str>,
}

impl Origins {
    pub(super) fn new(config: &Config, listen: SocketAddr) -> Self {
        let mut named = Vec::new();
        if let Some(url) = &config.server.public_url {
            named.push(url.url().origin());
        }
        if let Some(onion) = &config.server.onion_address
            && let Ok(url) = url::Url::parse(&format!("http://{onion}/"))
        {
            named.push(url.origin());
        }
        let local = listen.ip().is_loopback() || listen.ip().is_unspecified();
        let scheme = if config.server.serves_tls() {
            "https"
        } else {
            "http"
        };
        // With a public name, never loopback names (see the module doc): an onion
        // service's server listens on loopback, and anyone can send it `Host: localhost:P`.
        let loopback = (local && named.is_empty()).then_some(scheme);
        Origins { named, loopback }
    }

    /// The origin a request was sent to, if it is one of this server's.
    pub(super) fn of(&self, headers: &HeaderMap) -> Option<String> {
        let host = headers.get(header::HOST)?.to_str().ok()?;
        if host.is_empty() || host.contains(['/', '@', '?', '#', '\\']) {
            return None;
        }
        let origin_with = |scheme: &str| {
            url::Url::parse(&format!("{scheme}://{host}/"))
                .ok()
                .map(|u| u.origin())
        };
        for origin in &self.named {
            if let url::Origin::Tuple(scheme, _, _) = origin
                && origin_with(scheme).as_ref() == Some(origin)
            {
                return Some(origin.ascii_serialization());
            }
        }
        let scheme = self.loopback?;
        let origin = origin_with(scheme)?;
        let is_loopback = match &origin {
            url::Origin::Tuple(_, url::Host::Domain(name), _) => name == "localhost",
            url::Origin::Tuple(_, url::Host::Ipv4(ip), _) => ip.is_loopback(),
            url::Origin::Tuple(_, url::Host::Ipv6(ip), _) => ip.is_loopback(),
            url::Origin::Opaque(_) => false,
        };
        is_loopback.then(|| origin.ascii_serialization())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    fn headers(host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        h
    }

    #[test]
    fn only_the_servers_own_names() {
        let config = Config::parse(
            "[server]\npublic_url = \"https://drop.example.com\"\n\
             onion_address = \"abcdefghijklmnop.onion\"\n",
            "test.toml",
        )
        .and_then(|c| c.validate(&Overrides::default()))
        .unwrap();
        let origins = Origins::new(&config, "127.0.0.1:8080".parse().unwrap());
        let of = |host: &str| origins.of(&headers(host));
        assert_eq!(of("drop.example.com").unwrap(), "https://drop.example.com");
        assert_eq!(
            of("DROP.example.com:443").unwrap(),
            "https://drop.example.com"
        );
        assert_eq!(
            of("abcdefghijklmnop.onion").unwrap(),
            "http://abcdefghijklmnop.onion"
        );
        for bad in [
            "evil.example",
            "drop.example.com:444",
            "x@127.0.0.1",
            "",
            "10.0.0.1",
        ] {
            assert!(of(bad).is_none(), "{bad}");
        }
        let public = Origins::new(&config, "192.0.2.1:443".parse().unwrap());
        assert!(public.of(&headers("127.0.0.1:8080")).is_none());
    }

    /// Regression (issue 9): a server with a public name listening on loopback, as an
    /// onion service's does, answered challenges for any loopback name, so a compromised
    /// server a member tunnels to at `localhost:P` could relay this one's challenge.
    #[test]
    fn a_named_server_on_loopback_gives_no_challenge_for_loopback_names() {
        let config = Config::parse(
            "[server]\nonion_address = \"abcdefghijklmnop.onion\"\n",
            "test.toml",
        )
        .and_then(|c| c.validate(&Overrides::default()))
        .unwrap();
        let origins = Origins::new(&config, "127.0.0.1:8080".parse().unwrap());
        for relayed in [
            "127.0.0.1:9000",
            "localhost:8080",
            "localhost:2222",
            "[::1]:8080",
        ] {
            assert!(origins.of(&headers(relayed)).is_none(), "{relayed}");
        }
        assert_eq!(
            origins.of(&headers("abcdefghijklmnop.onion")).unwrap(),
            "http://abcdefghijklmnop.onion"
        );
    }

    #[test]
    fn an_unnamed_server_on_loopback_answers_to_loopback_names_at_any_port() {
        let config = Config::parse("", "test.toml")
            .and_then(|c| c.validate(&Overrides::default()))
            .unwrap();
        let origins = Origins::new(&config, "127.0.0.1:8080".parse().unwrap());
        let of = |host: &str| origins.of(&headers(host));
        assert_eq!(of("127.0.0.1:9000").unwrap(), "http://127.0.0.1:9000");
        assert_eq!(of("localhost:8080").unwrap(), "http://localhost:8080");
        assert_eq!(of("[::1]:8080").unwrap(), "http://[::1]:8080");
        assert!(of("evil.example").is_none());
    }
}
