//! Guessing what a client meant: the nearest field name or level name.

/// The field `key` most likely meant: a known alias first, then the nearest name by edit
/// distance after folding case, `_` and `-`.
pub fn nearest_field(
    key: &str,
    fields: &[&'static str],
    aliases: &[(&'static str, &'static str)],
) -> Option<&'static str> {
    let folded = fold(key);
    // An alias counts only when it names a field of this object (schemas share alias lists).
    if let Some((_, f)) = aliases
        .iter()
        .find(|(a, f)| fold(a) == folded && fields.contains(f))
    {
        return Some(f);
    }
    nearest(&folded, fields.iter().copied(), fold)
}

/// The level name `s` most likely meant (case already failed to match).
pub fn nearest_level<'a>(s: &str, levels: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let folded = fold(s);
    let levels: Vec<&str> = levels.collect();
    // A prefix such as "adv" or "Expt" is a near miss too.
    if folded.len() >= 3 {
        if let Some(l) = levels.iter().find(|l| fold(l).starts_with(&folded)) {
            return Some(l);
        }
    }
    nearest(&folded, levels.into_iter(), fold)
}

fn nearest<'a>(
    folded: &str,
    candidates: impl Iterator<Item = &'a str>,
    key: impl Fn(&str) -> String,
) -> Option<&'a str> {
    let mut best: Option<(&str, usize)> = None;
    for c in candidates {
        let d = strsim::levenshtein(folded, &key(c));
        let limit = (c.len() / 3).clamp(1, 3);
        if d <= limit && best.is_none_or(|(_, bd)| d < bd) {
            best = Some((c, d));
        }
    }
    best.map(|(c, _)| c)
}

fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '_' && *c != '-' && *c != ' ')
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &[&str] = &["skillId", "proficiency", "effectiveDate", "expirationDate"];
    const A: &[(&str, &str)] = &[("id", "skillId"), ("level", "proficiency")];

    #[test]
    fn aliases_win() {
        assert_eq!(nearest_field("id", F, A), Some("skillId"));
        assert_eq!(nearest_field("Level", F, A), Some("proficiency"));
        // Never a field the object does not have.
        assert_eq!(nearest_field("id", &F[1..], A), None);
    }

    #[test]
    fn near_misses_and_case() {
        assert_eq!(nearest_field("proficency", F, A), Some("proficiency"));
        assert_eq!(nearest_field("skill_id", F, A), Some("skillId"));
        assert_eq!(nearest_field("effectivedate", F, A), Some("effectiveDate"));
        assert_eq!(nearest_field("colour", F, A), None);
    }

    #[test]
    fn levels() {
        let l = ["Novice", "Intermediate", "Advanced", "Expert"];
        assert_eq!(
            nearest_level("Advance", l.iter().copied()),
            Some("Advanced")
        );
        assert_eq!(nearest_level("Exprt", l.iter().copied()), Some("Expert"));
        assert_eq!(
            nearest_level("inter", l.iter().copied()),
            Some("Intermediate")
        );
        assert_eq!(nearest_level("Guru", l.iter().copied()), None);
    }
}
