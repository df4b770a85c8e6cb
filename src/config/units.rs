//! Numbers with a unit and a range. A setting's type says what it counts and which
//! values it may take, so a zero or out-of-range value is refused while the file is read
//! (the reader adds the setting's name: see [`Config::load`](super::Config::load)), and
//! the code asks for bytes or a [`Duration`] instead of multiplying by hand.

use std::num::NonZeroU32;
use std::time::Duration;

use serde::Deserialize;

/// A value a setting cannot take. The message says which values it can.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadValue(pub(super) String);

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;
/// The most MiB whose byte count still fits in a `u64`.
const MAX_MIB: u64 = u64::MAX / MIB;
/// The most KiB whose byte count still fits in a `usize`.
const MAX_KIB: u64 = (usize::MAX as u64) / KIB;

/// Checks `value` against `min..=max`; the message names the unit, if any.
fn in_range(value: u64, min: u64, max: u64, unit: &str) -> Result<u64, BadValue> {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    };
    if value < min {
        return Err(BadValue(if min == 1 {
            "must be greater than 0".into()
        } else {
            format!("use at least {min}{unit}")
        }));
    }
    if value > max {
        return Err(BadValue(format!("use at most {max}{unit}")));
    }
    Ok(value)
}

/// A size in MiB, at least `MIN` (0 where 0 means "none" or "no limit").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct Mib<const MIN: u64 = 1>(u64);

impl<const MIN: u64> Mib<MIN> {
    /// `N` MiB, checked against the range when compiled: for defaults.
    pub const fn of<const N: u64>() -> Self {
        const { assert!(MIN <= N && N <= MAX_MIB, "out of range") };
        Mib(N)
    }

    /// The number as written, in MiB.
    pub fn get(self) -> u64 {
        self.0
    }

    /// The size in bytes (it always fits: larger values are refused).
    pub fn bytes(self) -> u64 {
        self.0 * MIB
    }
}

impl<const MIN: u64> TryFrom<u64> for Mib<MIN> {
    type Error = BadValue;

    fn try_from(n: u64) -> Result<Self, BadValue> {
        in_range(n, MIN, MAX_MIB, "MiB").map(Mib)
    }
}

/// A size in KiB, from `MIN` to `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct Kib<const MIN: u64 = 1, const MAX: u64 = MAX_KIB>(usize);

impl<const MIN: u64, const MAX: u64> Kib<MIN, MAX> {
    /// `N` KiB, checked against the range when compiled: for defaults.
    pub const fn of<const N: usize>() -> Self {
        const { assert!(MIN <= N as u64 && N as u64 <= MAX && N as u64 <= MAX_KIB) };
        Kib(N)
    }

    /// The number as written, in KiB.
    pub fn get(self) -> usize {
        self.0
    }

    /// The size in bytes (it always fits: larger values are refused).
    pub fn bytes(self) -> usize {
        self.0 * KIB as usize
    }
}

impl<const MIN: u64, const MAX: u64> TryFrom<u64> for Kib<MIN, MAX> {
    type Error = BadValue;

    fn try_from(n: u64) -> Result<Self, BadValue> {
        let n = in_range(n, MIN, MAX.min(MAX_KIB), "KiB")?;
        usize::try_from(n)
            .map(Kib)
            .map_err(|_| BadValue("too large".into()))
    }
}

/// A time in seconds, at least `MIN` (0 where no wait at all makes sense).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct Seconds<const MIN: u64 = 1>(u64);

impl<const MIN: u64> Seconds<MIN> {
    /// `N` seconds, checked against the range when compiled: for defaults.
    pub const fn of<const N: u64>() -> Self {
        const { assert!(MIN <= N, "out of range") };
        Seconds(N)
    }

    /// The time as a [`Duration`].
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.0)
    }
}

impl<const MIN: u64> TryFrom<u64> for Seconds<MIN> {
    type Error = BadValue;

    fn try_from(n: u64) -> Result<Self, BadValue> {
        in_range(n, MIN, u64::MAX, "seconds").map(Seconds)
    }
}

/// How many of something a minute; never 0 (0 would shut the door for good).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct PerMinute(NonZeroU32);

impl PerMinute {
    /// `N` a minute, checked when compiled: for defaults.
    pub const fn of<const N: u32>() -> Self {
        PerMinute(const { NonZeroU32::new(N).expect("must be greater than 0") })
    }

    /// The number a minute.
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

impl TryFrom<u64> for PerMinute {
    type Error = BadValue;

    fn try_from(n: u64) -> Result<Self, BadValue> {
        let n = in_range(n, 1, u64::from(u32::MAX), "a minute")?;
        u32::try_from(n)
            .ok()
            .and_then(NonZeroU32::new)
            .map(PerMinute)
            .ok_or_else(|| BadValue("must be greater than 0".into()))
    }
}

/// A number of things (files, characters, requests, sessions), from `MIN` to `MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "u64")]
pub struct Count<const MIN: u64 = 1, const MAX: u64 = { u64::MAX }>(usize);

impl<const MIN: u64, const MAX: u64> Count<MIN, MAX> {
    /// `N`, checked against the range when compiled: for defaults.
    pub const fn of<const N: usize>() -> Self {
        const { assert!(MIN <= N as u64 && N as u64 <= MAX, "out of range") };
        Count(N)
    }

    /// The number.
    pub fn get(self) -> usize {
        self.0
    }
}

impl<const MIN: u64, const MAX: u64> TryFrom<u64> for Count<MIN, MAX> {
    type Error = BadValue;

    fn try_from(n: u64) -> Result<Self, BadValue> {
        let n = in_range(n, MIN, MAX, "")?;
        usize::try_from(n)
            .map(Count)
            .map_err(|_| BadValue("too large".into()))
    }
}

/// A rate in bytes a second; 0 means no minimum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct BytesPerSecond(u64);

impl BytesPerSecond {
    /// `n` bytes a second.
    pub const fn of(n: u64) -> Self {
        BytesPerSecond(n)
    }

    /// The number of bytes a second.
    pub fn get(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused<T: TryFrom<u64, Error = BadValue> + std::fmt::Debug>(n: u64) -> String {
        T::try_from(n).unwrap_err().0
    }

    #[test]
    fn zero_is_refused_where_it_makes_no_sense() {
        assert_eq!(refused::<Mib>(0), "must be greater than 0");
        assert_eq!(refused::<Kib>(0), "must be greater than 0");
        assert_eq!(refused::<Seconds>(0), "must be greater than 0");
        assert_eq!(refused::<PerMinute>(0), "must be greater than 0");
        assert_eq!(refused::<Count>(0), "must be greater than 0");
    }

    #[test]
    fn zero_is_accepted_where_it_means_none() {
        assert_eq!(Mib::<0>::try_from(0).unwrap().bytes(), 0);
        assert_eq!(
            Seconds::<0>::try_from(0).unwrap().duration(),
            Duration::ZERO
        );
        assert_eq!(Count::<0, 1000>::try_from(0).unwrap().get(), 0);
    }

    #[test]
    fn out_of_range_says_the_range_and_unit() {
        assert_eq!(refused::<Mib<8>>(7), "use at least 8 (MiB)");
        assert_eq!(refused::<Kib<1, 1024>>(1025), "use at most 1024 (KiB)");
        assert_eq!(refused::<Count<0, 1000>>(1001), "use at most 1000");
        assert_eq!(
            refused::<PerMinute>(u64::from(u32::MAX) + 1),
            "use at most 4294967295 (a minute)"
        );
        // Sizes whose byte count would overflow are refused, not wrapped.
        assert!(refused::<Mib>(u64::MAX).starts_with("use at most"));
        assert!(refused::<Kib>(u64::MAX).starts_with("use at most"));
    }

    #[test]
    fn units_convert() {
        assert_eq!(Mib::<1>::try_from(3).unwrap().bytes(), 3 * 1024 * 1024);
        assert_eq!(Mib::<1>::of::<1024>().bytes(), 1 << 30);
        assert_eq!(Kib::<1, 1024>::try_from(64).unwrap().bytes(), 64 * 1024);
        assert_eq!(
            Seconds::<1>::try_from(900).unwrap().duration(),
            Duration::from_secs(15 * 60)
        );
        assert_eq!(PerMinute::try_from(20).unwrap().get(), 20);
        assert_eq!(Count::<1>::of::<128>().get(), 128);
        assert_eq!(BytesPerSecond::of(2048).get(), 2048);
    }

    #[test]
    fn serde_checks_the_range() {
        #[derive(Deserialize, Debug)]
        struct S {
            cache_mib: Mib<8>,
        }
        let e = toml::from_str::<S>("cache_mib = 4").unwrap_err();
        assert_eq!(e.message(), "use at least 8 (MiB)");
        let e = toml::from_str::<S>("cache_mib = -1").unwrap_err();
        assert!(e.message().contains("-1"), "{}", e.message());
        let s: S = toml::from_str("cache_mib = 8").unwrap();
        assert_eq!(s.cache_mib.get(), 8);
    }
}
