//! Every document of the shared corpus: imported, exported in its own CSAF
//! version, and compared with the original as JSON trees; the same after
//! replicating the import to another replica.

use super::*;

fn csaf_version_of(bytes: &[u8]) -> CsafVersion {
    let v = serde(bytes);
    CsafVersion::from_name(v["document"]["csaf_version"].as_str().expect("a version"))
        .expect("2.0 or 2.1")
}

#[test]
fn every_corpus_document_exports_as_imported() {
    let Some(files) = corpus_files() else { return };
    assert!(!files.is_empty(), "the corpus folder holds no documents");
    let set = net();
    let m = set.membership();
    let mut failures = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).expect("readable corpus file");
        let original = serde(&bytes);
        let version = csaf_version_of(&bytes);
        let mut docs = replica(&set);
        // A document without a label is refused unless the importer names
        // one.
        let imported = match import_into(&mut docs, &bytes, None) {
            Err(crate::EditError::Import(ImportError::NoTlp)) => {
                import_into(&mut docs, &bytes, Some(Tlp::Green)).expect("imports with a label")
            }
            other => other.unwrap_or_else(|e| panic!("{}: {e}", file.display())),
        };
        let doc = imported.doc.id();
        let here = held(&docs, &doc);
        assert!(here.complete);
        let exported = here.export_csaf(version, None);
        let exported = serde(exported.to_json().as_bytes());
        for d in differences(&original, &exported) {
            if !allowed(&d) {
                failures.push(format!("{}: {d}", file.display()));
            }
        }

        // The same advisory on a replica that received the changes.
        let mut other = replica(&set);
        sync(&docs, &mut other, &m);
        let there = held(&other, &doc);
        assert_eq!(there, here, "{}", file.display());
        assert_eq!(
            there.export_csaf(version, None).to_json(),
            here.export_csaf(version, None).to_json()
        );
    }
    assert!(
        failures.is_empty(),
        "differences not in EXPORT_SETS:\n{}",
        failures.join("\n")
    );
}
