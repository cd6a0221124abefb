//! Go's `time.Duration` text form, both ways (`metav1.Duration` is written as it).

/// Go's `time.Duration.String()`: `1h0m0s`, `1.5s`, `300ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut s = if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        format!("{}{unit}", trim_frac(u, div))
    } else {
        let secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let (h, m, sec) = (secs / 3600, (secs / 60) % 60, secs % 60);
        let sec_str = if frac == 0 {
            sec.to_string()
        } else {
            format!("{sec}.{}", format!("{frac:09}").trim_end_matches('0'))
        };
        if h > 0 {
            format!("{h}h{m}m{sec_str}s")
        } else if m > 0 {
            format!("{m}m{sec_str}s")
        } else {
            format!("{sec_str}s")
        }
    };
    if neg {
        s.insert(0, '-');
    }
    s
}

fn trim_frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let frac = v % div;
    if frac == 0 {
        whole.to_string()
    } else {
        let width = div.to_string().len() - 1;
        format!(
            "{whole}.{}",
            format!("{frac:0width$}").trim_end_matches('0')
        )
    }
}

/// Parses Go duration strings (`1h0m0s`, `30s`, `1.5s`, `300ms`) into nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    Some(if neg { -(total as i64) } else { total as i64 })
}
