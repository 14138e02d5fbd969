//! The `code` field of a `[[custom]]` option: `rs(k,m)` or `lrc(k,l,r)`,
//! instead of `copies` and `needed`.

use super::{FieldError, Result, err};
use crate::model::{Code, Level, Topology};
use crate::scenario::schema::CustomOption;

/// The slots of a custom option's primary group and how they make up an
/// extent: `copies` and `needed`, or the fragments of `code`.
pub(super) fn slots_and_code(c: &CustomOption, path: &str) -> Result<(u32, Code)> {
    match (&c.code, c.copies) {
        (Some(_), Some(_)) => err(
            format!("{path}.code"),
            "give either `code` (an erasure code's fragments) or `copies` (whole copies), not both",
        ),
        (Some(_), None) if c.needed.is_some() => err(
            format!("{path}.needed"),
            "a `code` decides itself what must survive; drop `needed`",
        ),
        (Some(text), None) => {
            let field = format!("{path}.code");
            let code = parse(text, &field)?;
            if c.secondary.is_some() {
                return err(
                    field,
                    "a coded option keeps one group of fragments: drop `secondary` (geo-replicated codes are not modelled)",
                );
            }
            Ok((code.fragments().unwrap_or(1), code))
        }
        (None, Some(copies)) => Ok((
            copies.0,
            Code::Copies {
                needed: c.needed.map_or(1, |n| n.0),
            },
        )),
        (None, None) => err(
            format!("{path}.copies"),
            "give `copies` (whole copies) or `code` (e.g. code = \"rs(6,3)\")",
        ),
    }
}

/// `rs(k,m)` or `lrc(k,l,r)`, every number checked; errors name `field`.
pub(super) fn parse(text: &str, field: &str) -> Result<Code> {
    let bad = |why: String| FieldError {
        path: field.into(),
        message: why,
    };
    let syntax = || {
        bad(format!(
            "`{text}` is not a code; write rs(k,m) (k data, m parity fragments) or lrc(k,l,r) (k data in l local groups, r global parities)"
        ))
    };
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let lower = compact.to_ascii_lowercase();
    let (kind, rest) = lower.split_once('(').ok_or_else(syntax)?;
    let inner = rest.strip_suffix(')').ok_or_else(syntax)?;
    let numbers = inner
        .split(',')
        .map(|n| n.parse::<u32>().map_err(|_| syntax()))
        .collect::<Result<Vec<u32>>>()?;
    let code = match (kind, numbers.as_slice()) {
        ("rs", &[k, m]) => Code::Rs { k, m },
        ("lrc", &[k, l, r]) => Code::Lrc { k, l, r },
        _ => return Err(syntax()),
    };
    check(code, text).map_err(bad)?;
    Ok(code)
}

/// Sizes of a parsed code: at least one data fragment and one parity, local
/// groups of equal size, and at most `MAX_COPIES` fragments in all.
fn check(code: Code, text: &str) -> std::result::Result<(), String> {
    let max = crate::model::world::MAX_COPIES as u64;
    let (k, parities, total) = match code {
        Code::Rs { k, m } => (k, m, u64::from(k) + u64::from(m)),
        Code::Lrc { k, l, r } => {
            if l == 0 {
                return Err(format!("`{text}`: an LRC needs at least one local group"));
            }
            if k % l != 0 {
                return Err(format!(
                    "`{text}`: {k} data fragments do not split into {l} local groups of equal size"
                ));
            }
            (k, l.max(r), u64::from(k) + u64::from(l) + u64::from(r))
        }
        Code::Copies { .. } => return Ok(()),
    };
    if k == 0 {
        return Err(format!("`{text}`: a code needs at least one data fragment"));
    }
    if parities == 0 {
        return Err(format!(
            "`{text}`: a code with no parity is no code; give at least one parity fragment"
        ));
    }
    if total > max {
        return Err(format!(
            "`{text}` has {total} fragments; an option keeps at most {max}"
        ));
    }
    Ok(())
}

/// A code's fragments go to distinct `spread` components of one `within`
/// component of region `region`: there must be that many.
pub(super) fn check_room(
    code: Code,
    (region, within, spread): (u32, Level, Level),
    topo: &Topology,
    field: &str,
) -> Result<()> {
    let Some(n) = code.fragments() else {
        return Ok(());
    };
    let scope = topo.components_within(Level::Region, region, within).start;
    let room = topo.components_within(within, scope, spread).len() as u32;
    if room < n {
        return err(
            field,
            format!(
                "{n} fragments go to distinct {}s of a {}, which has only {room}; use a narrower `spread` or a wider `within`",
                spread.name(),
                within.name()
            ),
        );
    }
    Ok(())
}
