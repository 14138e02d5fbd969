//! Human-readable quantities in scenario files: durations ("15m", "6.5d"),
//! sizes ("16TB", "1GiB") and bandwidths ("100MB/s").
//!
//! Simulated time is an integer number of microseconds, so that event order
//! never depends on floating-point rounding. One year is the Julian year
//! (365.25 days), the unit of every "per year" figure in replisim.

/// Simulated time and durations, in microseconds.
pub type Micros = u64;

pub const SECOND: Micros = 1_000_000;
pub const MINUTE: Micros = 60 * SECOND;
pub const HOUR: Micros = 60 * MINUTE;
pub const DAY: Micros = 24 * HOUR;
pub const YEAR: Micros = 365 * DAY + DAY / 4;

const DURATION_UNITS: &[(&str, f64)] = &[
    ("us", 1.0),
    ("ms", 1e3),
    ("s", SECOND as f64),
    ("m", MINUTE as f64),
    ("h", HOUR as f64),
    ("d", DAY as f64),
    ("w", 7.0 * DAY as f64),
    ("y", YEAR as f64),
];

const SIZE_UNITS: &[(&str, f64)] = &[
    ("B", 1.0),
    ("KB", 1e3),
    ("MB", 1e6),
    ("GB", 1e9),
    ("TB", 1e12),
    ("PB", 1e15),
    ("KiB", 1024.0),
    ("MiB", 1048576.0),
    ("GiB", 1073741824.0),
    ("TiB", 1099511627776.0),
    ("PiB", 1125899906842624.0),
];

/// JSON Schema `pattern`s matching what [`parse_duration`], [`parse_size`]
/// and [`parse_bandwidth`] read: a number, then one of their units (and
/// "/s"), built from the same unit tables.
pub fn duration_pattern() -> String {
    pattern(DURATION_UNITS, "")
}

pub fn size_pattern() -> String {
    pattern(SIZE_UNITS, "")
}

pub fn bandwidth_pattern() -> String {
    pattern(SIZE_UNITS, r"\s*/s")
}

fn pattern(units: &[(&str, f64)], suffix: &str) -> String {
    let names: Vec<&str> = units.iter().map(|(u, _)| *u).collect();
    format!(r"^\s*[0-9.+e-]+\s*({}){suffix}\s*$", names.join("|"))
}

/// Splits "6.5d" into (6.5, "d") and scales by the unit's factor.
fn parse_scaled(text: &str, units: &[(&str, f64)], what: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let allowed = || units.iter().map(|(u, _)| *u).collect::<Vec<_>>().join(", ");
    let factor = units
        .iter()
        .find(|(u, _)| *u == unit.trim())
        .map(|(_, f)| *f)
        .ok_or_else(|| {
            format!(
                "`{text}` is not a {what}: expected a number and a unit ({}), e.g. {}",
                allowed(),
                example(what)
            )
        })?;
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a {what}: `{number}` is not a number"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("`{text}`: a {what} must be a non-negative number"));
    }
    Ok(value * factor)
}

fn example(what: &str) -> &'static str {
    match what {
        "duration" => "\"15m\" or \"6.5d\"",
        "size" => "\"16TB\" or \"1GiB\"",
        _ => "\"100MB/s\"",
    }
}

/// Parses a duration such as "15m", "6.5d" or "1y" into microseconds.
pub fn parse_duration(text: &str) -> Result<Micros, String> {
    let us = parse_scaled(text, DURATION_UNITS, "duration")?;
    if us > (u64::MAX / 4) as f64 {
        return Err(format!("`{text}`: duration too long"));
    }
    Ok(us.round() as Micros)
}

/// Parses a size such as "16TB" (decimal) or "1GiB" (binary) into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bytes = parse_scaled(text, SIZE_UNITS, "size")?;
    if bytes > u64::MAX as f64 {
        return Err(format!("`{text}`: size too large"));
    }
    Ok(bytes.round() as u64)
}

/// Parses a bandwidth such as "100MB/s" into bytes per second.
pub fn parse_bandwidth(text: &str) -> Result<f64, String> {
    let Some(size) = text.trim().strip_suffix("/s") else {
        return Err(format!(
            "`{text}` is not a bandwidth: expected a size per second, e.g. \"100MB/s\""
        ));
    };
    parse_scaled(size, SIZE_UNITS, "bandwidth")
}

/// Doubles from here on are whole numbers.
const WHOLE: f64 = 4_503_599_627_370_496.0; // 2^52

/// `x.round() as Micros`, bit for bit, without the `round` call that
/// baseline x86-64 (no SSE4.1) makes into libm: sampled times are rounded
/// a few thousand times per trial.
#[inline]
pub fn round_micros(x: f64) -> Micros {
    if !(0.5..WHOLE).contains(&x) {
        return x as Micros; // 0 below a half (and for NaN); saturating above
    }
    let whole = x as Micros;
    whole + Micros::from(x - whole as f64 >= 0.5)
}

/// `x.ceil() as Micros`, bit for bit, without a libm call (see
/// [`round_micros`]).
#[inline]
pub fn ceil_micros(x: f64) -> Micros {
    if x.is_nan() || x <= 0.0 || x >= WHOLE {
        return x as Micros;
    }
    let whole = x as Micros;
    whole + Micros::from((whole as f64) < x)
}

/// Converts microseconds to (fractional) years.
pub fn years(t: Micros) -> f64 {
    t as f64 / YEAR as f64
}

/// Formats a duration with the largest unit that keeps it readable.
pub fn format_duration(t: Micros) -> String {
    let (unit, factor) = DURATION_UNITS
        .iter()
        .rev()
        .find(|(_, f)| t as f64 >= *f)
        .copied()
        .unwrap_or(("us", 1.0));
    let value = t as f64 / factor;
    if value.fract() == 0.0 {
        format!("{value:.0}{unit}")
    } else {
        format!("{value:.3}{unit}")
    }
}

/// Bytes with a decimal unit, e.g. "1.2 TB".
pub fn format_bytes(b: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KB", "MB", "GB", "TB", "PB"];
    if b < 0.0 {
        // Differences between options can be negative.
        return format!("-{}", format_bytes(-b));
    }
    let mut value = b;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{value:.0} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_micros_matches_std_everywhere() {
        let edges = [
            f64::NAN,
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -0.5,
            -0.4,
            -0.0,
            0.0,
            1e-300,
            0.3,
            0.49999999999999994,
            0.5,
            0.5000000000000001,
            1.0,
            1.5,
            2.5,
            1e6 + 0.5,
            4503599627370495.5,
            WHOLE,
            WHOLE + 1.0,
            9.223372036854775e18,
            1.8446744073709552e19,
            1e300,
            f64::INFINITY,
        ];
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let xorshift = std::iter::from_fn(|| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Some(x)
        });
        let bits: Vec<u64> = xorshift.take(200_000).collect();
        let any = bits.iter().map(|&b| f64::from_bits(b));
        // Realistic times, up to 10^12 µs, and exact quarters.
        let times = bits
            .iter()
            .map(|&b| (b >> 11) as f64 / (1u64 << 53) as f64 * 1e12);
        let quarters = (0..200_000).map(|i| f64::from(i) * 0.25);
        for v in edges.into_iter().chain(any).chain(times).chain(quarters) {
            assert_eq!(round_micros(v), v.round() as Micros, "round {v:e}");
            assert_eq!(ceil_micros(v), v.ceil() as Micros, "ceil {v:e}");
        }
    }

    #[test]
    fn durations_parse_to_exact_microseconds() {
        assert_eq!(parse_duration("15m"), Ok(15 * MINUTE));
        assert_eq!(parse_duration("6.5d"), Ok(6 * DAY + 12 * HOUR));
        assert_eq!(parse_duration("1y"), Ok(31_557_600 * SECOND));
        assert_eq!(parse_duration(" 250ms "), Ok(250_000));
    }

    #[test]
    fn malformed_durations_say_what_is_allowed() {
        let err = parse_duration("15 minutes").unwrap_err();
        assert!(err.contains("us, ms, s, m, h, d, w, y"), "{err}");
        assert!(parse_duration("-1h").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("1e400s").is_err());
    }

    #[test]
    fn sizes_and_bandwidths() {
        assert_eq!(parse_size("16TB"), Ok(16_000_000_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_bandwidth("100MB/s"), Ok(1e8));
        assert!(parse_bandwidth("100MB").is_err());
        assert!(parse_size("3 apples").is_err());
    }

    #[test]
    fn formatting_round_trips_common_values() {
        assert_eq!(format_duration(15 * MINUTE), "15m");
        assert_eq!(format_duration(YEAR), "1y");
        assert_eq!(parse_duration(&format_duration(36 * HOUR)), Ok(36 * HOUR));
    }
}

/// `n` and its noun, singular for one: "1 thread", "4 threads" (every noun
/// counted here takes an "s").
pub fn count(n: impl Into<f64>, noun: &str) -> String {
    let n = n.into();
    let shown = if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    };
    if n == 1.0 {
        format!("{shown} {noun}")
    } else {
        format!("{shown} {noun}s")
    }
}

#[cfg(test)]
mod count_tests {
    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(super::count(1u32, "thread"), "1 thread");
        assert_eq!(super::count(2u32, "extent"), "2 extents");
        assert_eq!(super::count(0.5, "year"), "0.5 years");
        assert_eq!(super::count(1.0, "year"), "1 year");
    }
}
