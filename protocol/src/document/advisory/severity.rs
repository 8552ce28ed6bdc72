//! The severity trustmesh shows: the document's `aggregate_severity` text
//! as its publisher wrote it, plus a level derived from that text in any of
//! the languages CSIRTs publish in, or else from the highest CVSS base
//! score. Never invented: a document with neither has no level.

use serde::{Deserialize, Serialize};

use super::Severity;

/// Where a derived level came from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "score")]
pub enum LevelSource {
    /// The `aggregate_severity` text.
    Text,
    /// The highest CVSS base score in the document.
    Cvss(f64),
}

/// Words that name a level, by language, lowercase. Red Hat's and
/// Microsoft's "Important" sits between their "Moderate" and "Critical",
/// where CVSS's "High" does.
const WORDS: &[(&str, Severity)] = &[
    // English, and vendor scales written in English.
    ("none", Severity::None),
    ("informational", Severity::None),
    ("info", Severity::None),
    ("low", Severity::Low),
    ("medium", Severity::Medium),
    ("moderate", Severity::Medium),
    ("high", Severity::High),
    ("important", Severity::High),
    ("severe", Severity::High),
    ("critical", Severity::Critical),
    // German.
    ("keine", Severity::None),
    ("niedrig", Severity::Low),
    ("gering", Severity::Low),
    ("mittel", Severity::Medium),
    ("hoch", Severity::High),
    ("wichtig", Severity::High),
    ("kritisch", Severity::Critical),
    // French.
    ("aucune", Severity::None),
    ("faible", Severity::Low),
    ("basse", Severity::Low),
    ("moyenne", Severity::Medium),
    ("moyen", Severity::Medium),
    ("modérée", Severity::Medium),
    ("modéré", Severity::Medium),
    ("élevée", Severity::High),
    ("élevé", Severity::High),
    ("haute", Severity::High),
    ("importante", Severity::High),
    ("critique", Severity::Critical),
    // Spanish, Portuguese, Italian.
    ("ninguna", Severity::None),
    ("nenhuma", Severity::None),
    ("nessuna", Severity::None),
    ("baja", Severity::Low),
    ("bajo", Severity::Low),
    ("baixa", Severity::Low),
    ("baixo", Severity::Low),
    ("bassa", Severity::Low),
    ("basso", Severity::Low),
    ("media", Severity::Medium),
    ("medio", Severity::Medium),
    ("média", Severity::Medium),
    ("médio", Severity::Medium),
    ("moderada", Severity::Medium),
    ("moderado", Severity::Medium),
    ("alta", Severity::High),
    ("alto", Severity::High),
    ("elevata", Severity::High),
    ("crítica", Severity::Critical),
    ("crítico", Severity::Critical),
    ("critica", Severity::Critical),
    ("critico", Severity::Critical),
    // Dutch, Danish, Norwegian, Swedish.
    ("geen", Severity::None),
    ("ingen", Severity::None),
    ("laag", Severity::Low),
    ("lav", Severity::Low),
    ("låg", Severity::Low),
    ("gemiddeld", Severity::Medium),
    ("middel", Severity::Medium),
    ("middels", Severity::Medium),
    ("mellem", Severity::Medium),
    ("medel", Severity::Medium),
    ("hoog", Severity::High),
    ("høj", Severity::High),
    ("høy", Severity::High),
    ("hög", Severity::High),
    ("kritiek", Severity::Critical),
    ("kritisk", Severity::Critical),
    // Finnish, Estonian, Polish, Czech, Slovak, Hungarian, Romanian.
    ("matala", Severity::Low),
    ("kohtalainen", Severity::Medium),
    ("keskitaso", Severity::Medium),
    ("korkea", Severity::High),
    ("kriittinen", Severity::Critical),
    ("madal", Severity::Low),
    ("keskmine", Severity::Medium),
    ("kõrge", Severity::High),
    ("kriitiline", Severity::Critical),
    ("brak", Severity::None),
    ("niski", Severity::Low),
    ("niska", Severity::Low),
    ("średni", Severity::Medium),
    ("średnia", Severity::Medium),
    ("wysoki", Severity::High),
    ("wysoka", Severity::High),
    ("krytyczny", Severity::Critical),
    ("krytyczna", Severity::Critical),
    ("žádná", Severity::None),
    ("nízká", Severity::Low),
    ("nízký", Severity::Low),
    ("nízka", Severity::Low),
    ("střední", Severity::Medium),
    ("stredná", Severity::Medium),
    ("vysoká", Severity::High),
    ("vysoký", Severity::High),
    ("kritická", Severity::Critical),
    ("kritický", Severity::Critical),
    ("nincs", Severity::None),
    ("alacsony", Severity::Low),
    ("közepes", Severity::Medium),
    ("magas", Severity::High),
    ("kritikus", Severity::Critical),
    ("scăzută", Severity::Low),
    ("medie", Severity::Medium),
    ("ridicată", Severity::High),
    ("critică", Severity::Critical),
    // Greek, Russian, Ukrainian, Bulgarian, Serbian.
    ("χαμηλή", Severity::Low),
    ("μέτρια", Severity::Medium),
    ("υψηλή", Severity::High),
    ("κρίσιμη", Severity::Critical),
    ("низкий", Severity::Low),
    ("низкая", Severity::Low),
    ("средний", Severity::Medium),
    ("средняя", Severity::Medium),
    ("высокий", Severity::High),
    ("высокая", Severity::High),
    ("критический", Severity::Critical),
    ("критическая", Severity::Critical),
    ("низький", Severity::Low),
    ("середній", Severity::Medium),
    ("високий", Severity::High),
    ("критичний", Severity::Critical),
    ("нисък", Severity::Low),
    ("среден", Severity::Medium),
    ("висок", Severity::High),
    ("критичен", Severity::Critical),
    ("низак", Severity::Low),
    ("средњи", Severity::Medium),
    ("висок", Severity::High),
    ("критичан", Severity::Critical),
    // Turkish.
    ("yok", Severity::None),
    ("düşük", Severity::Low),
    ("orta", Severity::Medium),
    ("yüksek", Severity::High),
    ("kritik", Severity::Critical),
    // Korean.
    ("없음", Severity::None),
    ("낮음", Severity::Low),
    ("보통", Severity::Medium),
    ("중간", Severity::Medium),
    ("높음", Severity::High),
    ("긴급", Severity::Critical),
    ("심각", Severity::Critical),
];

/// Chinese and Japanese words, matched inside the text (no spaces).
/// Longer words come first, so 中危 is not read as 中.
const CJK: &[(&str, Severity)] = &[
    ("超危", Severity::Critical),
    ("严重", Severity::Critical),
    ("嚴重", Severity::Critical),
    ("緊急", Severity::Critical),
    ("紧急", Severity::Critical),
    ("致命的", Severity::Critical),
    ("高危", Severity::High),
    ("重要", Severity::High),
    ("中危", Severity::Medium),
    ("警告", Severity::Medium),
    ("低危", Severity::Low),
    ("注意", Severity::Low),
    ("高", Severity::High),
    ("中", Severity::Medium),
    ("低", Severity::Low),
];

/// The level an `aggregate_severity` text names, in any of the languages
/// above: the first word of the text that names one (so "Hoch (CVSS 8.1)"
/// is high), or else a Chinese or Japanese word inside it.
pub fn level_of_text(text: &str) -> Option<Severity> {
    let lower = text.to_lowercase();
    for word in lower.split(|c: char| !c.is_alphanumeric()) {
        if word.is_empty() {
            continue;
        }
        if let Some((_, level)) = WORDS.iter().find(|(w, _)| *w == word) {
            return Some(*level);
        }
    }
    CJK.iter()
        .find(|(w, _)| lower.contains(w))
        .map(|(_, level)| *level)
}

/// The level to show: from the text when it names one, else the rating of
/// the highest CVSS base score, else none.
pub fn derive(text: Option<&str>, highest_score: Option<f64>) -> Option<(Severity, LevelSource)> {
    if let Some(level) = text.and_then(level_of_text) {
        return Some((level, LevelSource::Text));
    }
    highest_score.map(|s| (super::cvss::rating(s), LevelSource::Cvss(s)))
}
