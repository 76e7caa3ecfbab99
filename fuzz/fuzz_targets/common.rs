// Shared checks of the fuzz targets: every document a reader returns has spans that lie
// inside its text, on character boundaries, non-empty.

use jner_corpus::Document;

#[allow(dead_code)]
pub fn check_documents(docs: &[Document]) {
    for d in docs {
        for s in &d.spans {
            assert!(s.start < s.end, "empty span in {}", d.id);
            assert!(s.end <= d.text.len(), "span past the text in {}", d.id);
            assert!(d.text.is_char_boundary(s.start) && d.text.is_char_boundary(s.end));
        }
    }
}
