//! What a call hands back to the page: words and a line of text, left in
//! wasm memory for the JavaScript to read (`out_words`, `out_text`).

/// The results of the last call.
#[derive(Default)]
pub struct Out {
    pub words: Vec<u32>,
    pub text: String,
}

impl Out {
    pub fn clear(&mut self) {
        self.words.clear();
        self.text.clear();
    }
}
