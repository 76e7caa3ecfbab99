//! SentencePiece `spm.model` → [`tokenizers::Tokenizer`], encoding like Hugging Face
//! `transformers`' fast DeBERTa-v2/v3 tokenizer.
//!
//! Public GLiNER checkpoints ship no tokenizer, only the name of their encoder (e.g.
//! `microsoft/deberta-v3-base`), whose hub folder may hold `spm.model` and no `tokenizer.json`.
//! `transformers` 4.x then builds the fast tokenizer with `DebertaV2Converter` (a
//! `SpmConverter`, `convert_slow_tokenizer.py`); [`tokenizer_from_spm`] builds the same one
//! (`do_lower_case` and `split_by_punct` off, as deberta-v3 and mdeberta-v3 configure it):
//!
//! * model: `Unigram` over the pieces and their scores in file order, `unk_id` from the trainer
//!   spec, `byte_fallback` off (the converter ignores the model's byte fallback);
//! * normalizer: `Strip` (both sides), `Precompiled(precompiled_charsmap)` when the model has
//!   one (`nmt_nfkc` models do), `Replace(/ {2,}/, " ")`; the normalizer spec's
//!   `add_dummy_prefix`, `remove_extra_whitespaces` and `escape_whitespaces` are not consulted;
//! * pre-tokenizer: `Sequence[Metaspace("▁", prepend_scheme = always, split)]`; decoder: the
//!   same `Metaspace`;
//! * added tokens: the CONTROL (special) and USER_DEFINED (not special) pieces, unnormalized, at
//!   their ids; then those of `[CLS] [SEP] [UNK] [PAD] [MASK]` not already added, special
//!   (`[UNK]` matched on normalized text, as transformers adds it), `[MASK]` after the pieces
//!   when the model has no such piece (deberta-v3: id 128000);
//! * post-processor: `[CLS]:0 $A:0 [SEP]:0`, pair `[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1`.
//!
//! The file is read by a small protobuf decoder of the parts of sentencepiece's `ModelProto`
//! this needs ([`SpmModel`]); every malformed input is an error, never a panic. That includes a
//! `precompiled_charsmap` whose trie would make the normalizer index out of bounds while encoding:
//! its every reachable node is checked before it is used.

use std::collections::HashSet;
use std::path::Path;

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::unigram::Unigram;
use tokenizers::normalizers::replace::ReplacePattern;
use tokenizers::normalizers::{NormalizerWrapper, Precompiled, Replace, Strip};
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer};

use crate::{Result, TorchError};

/// Metaspace's stand-in for a space.
pub const METASPACE: char = '\u{2581}';

/// The special tokens transformers' `DebertaV2Tokenizer` declares, in the order it adds those
/// the model lacks (bos, eos, unk, sep, pad, cls, mask without repeats), with whether each is
/// matched on normalized text (only `[UNK]`, which the slow tokenizer declares normalized).
const DEBERTA_SPECIALS: [(&str, bool); 5] = [
    ("[CLS]", false),
    ("[SEP]", false),
    ("[UNK]", true),
    ("[PAD]", false),
    ("[MASK]", false),
];

/// Reads `spm.model` and builds the tokenizer transformers' `DebertaV2TokenizerFast` converts it
/// to (see the module docs).
pub fn tokenizer_from_spm(path: &Path) -> Result<Tokenizer> {
    let bytes = std::fs::read(path).map_err(|e| TorchError::io(path, e))?;
    tokenizer_from_spm_bytes(&bytes).map_err(|e| match e {
        TorchError::Invalid(msg) => TorchError::Invalid(format!("{}: {msg}", path.display())),
        TorchError::Tokenizer(msg) => TorchError::Tokenizer(format!("{}: {msg}", path.display())),
        e => e,
    })
}

/// [`tokenizer_from_spm`] on the bytes of a `spm.model`.
pub fn tokenizer_from_spm_bytes(bytes: &[u8]) -> Result<Tokenizer> {
    SpmModel::from_bytes(bytes)?.deberta_v2_tokenizer()
}

/// A piece's kind (`ModelProto.SentencePiece.Type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PieceType {
    Normal,
    Unknown,
    Control,
    UserDefined,
    Unused,
    Byte,
}

impl PieceType {
    fn from_proto(v: i32) -> Option<Self> {
        Some(match v {
            1 => PieceType::Normal,
            2 => PieceType::Unknown,
            3 => PieceType::Control,
            4 => PieceType::UserDefined,
            5 => PieceType::Unused,
            6 => PieceType::Byte,
            _ => return None,
        })
    }
}

/// One vocabulary entry (`ModelProto.SentencePiece`).
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub piece: String,
    pub score: f32,
    pub kind: PieceType,
}

/// `TrainerSpec.ModelType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelType {
    Unigram,
    Bpe,
    Word,
    Char,
}

/// The parts of `TrainerSpec` the conversion reads (proto defaults where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerSpec {
    pub model_type: ModelType,
    pub vocab_size: i32,
    pub byte_fallback: bool,
    pub unk_id: i32,
    pub bos_id: i32,
    pub eos_id: i32,
    pub pad_id: i32,
    pub unk_piece: String,
    pub bos_piece: String,
    pub eos_piece: String,
    pub pad_piece: String,
}

impl Default for TrainerSpec {
    fn default() -> Self {
        TrainerSpec {
            model_type: ModelType::Unigram,
            vocab_size: 8000,
            byte_fallback: false,
            unk_id: 0,
            bos_id: 1,
            eos_id: 2,
            pad_id: -1,
            unk_piece: "<unk>".into(),
            bos_piece: "<s>".into(),
            eos_piece: "</s>".into(),
            pad_piece: "<pad>".into(),
        }
    }
}

/// `NormalizerSpec` (proto defaults where absent).
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizerSpec {
    pub name: String,
    pub precompiled_charsmap: Vec<u8>,
    pub add_dummy_prefix: bool,
    pub remove_extra_whitespaces: bool,
    pub escape_whitespaces: bool,
}

impl Default for NormalizerSpec {
    fn default() -> Self {
        NormalizerSpec {
            name: String::new(),
            precompiled_charsmap: Vec::new(),
            add_dummy_prefix: true,
            remove_extra_whitespaces: true,
            escape_whitespaces: true,
        }
    }
}

/// What is read of a sentencepiece `ModelProto`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SpmModel {
    pub pieces: Vec<Piece>,
    pub trainer_spec: TrainerSpec,
    pub normalizer_spec: NormalizerSpec,
}

impl SpmModel {
    /// Reads and decodes a `spm.model` (protobuf only; [`Self::deberta_v2_tokenizer`] checks
    /// that it is usable).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| TorchError::io(path, e))?;
        Self::from_bytes(&bytes)
            .map_err(|e| TorchError::Invalid(format!("{}: {}", path.display(), e)))
    }

    /// Decodes the protobuf bytes of a `spm.model`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        parse_model(bytes)
            .map_err(|e| TorchError::invalid(format!("not a readable SentencePiece model: {e}")))
    }

    /// The tokenizer transformers' `DebertaV2Converter` builds from this model (module docs).
    pub fn deberta_v2_tokenizer(&self) -> Result<Tokenizer> {
        let unk_id = self
            .check()
            .map_err(|e| TorchError::invalid(format!("unusable SentencePiece model: {e}")))?;
        self.build(unk_id).map_err(TorchError::tokenizer)
    }

    /// Checks what the conversion and encoding rely on; returns the unknown piece's id.
    fn check(&self) -> std::result::Result<usize, String> {
        if self.trainer_spec.model_type != ModelType::Unigram {
            return Err(format!(
                "its model type is {:?}; only Unigram models (as DeBERTa-v2/v3 ship) can be \
                 converted",
                self.trainer_spec.model_type
            ));
        }
        if self.pieces.is_empty() {
            return Err("it has no pieces".into());
        }
        let n = self.pieces.len();
        let unk_id = self.trainer_spec.unk_id;
        let unk = usize::try_from(unk_id)
            .ok()
            .filter(|&i| i < n)
            .ok_or_else(|| format!("unk_id {unk_id} is out of range (the model has {n} pieces)"))?;
        if self.pieces[unk].kind != PieceType::Unknown {
            return Err(format!(
                "unk_id {unk} is the piece {:?} of type {:?}, not the UNKNOWN piece",
                self.pieces[unk].piece, self.pieces[unk].kind
            ));
        }
        let mut seen = HashSet::with_capacity(n);
        for (i, p) in self.pieces.iter().enumerate() {
            if p.piece.is_empty() {
                return Err(format!("piece {i} is empty"));
            }
            if !seen.insert(p.piece.as_str()) {
                return Err(format!("piece {i} {:?} is a duplicate", p.piece));
            }
            if !p.score.is_finite() {
                return Err(format!("piece {i} {:?} has score {}", p.piece, p.score));
            }
            if p.kind == PieceType::Unknown && i != unk {
                return Err(format!(
                    "piece {i} {:?} is a second UNKNOWN piece (unk_id is {unk})",
                    p.piece
                ));
            }
        }
        let charsmap = &self.normalizer_spec.precompiled_charsmap;
        if !charsmap.is_empty() {
            check_charsmap(charsmap).map_err(|e| format!("precompiled_charsmap: {e}"))?;
        }
        Ok(unk)
    }

    fn build(&self, unk_id: usize) -> tokenizers::Result<Tokenizer> {
        let vocab = self
            .pieces
            .iter()
            .map(|p| (p.piece.clone(), f64::from(p.score)))
            .collect();
        let mut tok = Tokenizer::new(Unigram::from(vocab, Some(unk_id), false)?);

        let mut normalizers = vec![NormalizerWrapper::StripNormalizer(Strip::new(true, true))];
        let charsmap = &self.normalizer_spec.precompiled_charsmap;
        if !charsmap.is_empty() {
            normalizers.push(NormalizerWrapper::Precompiled(Precompiled::from(charsmap)?));
        }
        normalizers.push(NormalizerWrapper::Replace(Replace::new(
            ReplacePattern::Regex(" {2,}".into()),
            " ",
        )?));
        tok.with_normalizer(Some(NormalizerWrapper::Sequence(
            tokenizers::normalizers::Sequence::new(normalizers),
        )));

        let metaspace = Metaspace::new(METASPACE, PrependScheme::Always, true);
        tok.with_pre_tokenizer(Some(PreTokenizerWrapper::Sequence(
            tokenizers::pre_tokenizers::sequence::Sequence::new(vec![
                PreTokenizerWrapper::Metaspace(metaspace.clone()),
            ]),
        )));
        tok.with_decoder(Some(DecoderWrapper::Metaspace(metaspace)));

        // SpmConverter.tokenizer: control pieces are special, user-defined ones are not.
        let spm_added: Vec<AddedToken> = self
            .pieces
            .iter()
            .filter(|p| matches!(p.kind, PieceType::Control | PieceType::UserDefined))
            .map(|p| {
                AddedToken::from(p.piece.clone(), p.kind == PieceType::Control).normalized(false)
            })
            .collect();
        tok.add_tokens(&spm_added);
        // PreTrainedTokenizerFast.__init__: the declared special tokens not yet added.
        let added: HashSet<String> = tok
            .get_added_tokens_decoder()
            .into_values()
            .map(|t| t.content)
            .collect();
        let specials: Vec<AddedToken> = DEBERTA_SPECIALS
            .iter()
            .filter(|(content, _)| !added.contains(*content))
            .map(|&(content, normalized)| AddedToken::from(content, true).normalized(normalized))
            .collect();
        tok.add_tokens(&specials);

        let id = |t: &str| {
            tok.token_to_id(t)
                .ok_or_else(|| format!("{t} has no id after being added"))
        };
        let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
        let template = TemplateProcessing::builder()
            .try_single("[CLS]:0 $A:0 [SEP]:0")?
            .try_pair("[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1")?
            .special_tokens(vec![("[CLS]", cls), ("[SEP]", sep)])
            .build()?;
        tok.with_post_processor(Some(template));
        Ok(tok)
    }
}

// ---------------------------------------------------------------------------------------------
// The protobuf reader.

/// Groups (a deprecated encoding no sentencepiece file uses) nest at most this deep when skipped.
const MAX_GROUP_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Varint,
    Fixed64,
    Len,
    StartGroup,
    EndGroup,
    Fixed32,
}

impl Wire {
    fn name(self) -> &'static str {
        match self {
            Wire::Varint => "varint",
            Wire::Fixed64 => "64-bit",
            Wire::Len => "length-delimited",
            Wire::StartGroup => "start-group",
            Wire::EndGroup => "end-group",
            Wire::Fixed32 => "32-bit",
        }
    }
}

/// A cursor over one message's bytes; `base` is where they start in the file (for messages).
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    fn at(&self) -> usize {
        self.base + self.pos
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> std::result::Result<u64, String> {
        let start = self.at();
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(format!("truncated varint at byte {start}"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(format!("varint longer than 64 bits at byte {start}"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        // Not reached: the tenth byte either ends the varint or is rejected above.
        Err(format!("varint longer than 64 bits at byte {start}"))
    }

    /// The next field's number and wire type.
    fn key(&mut self) -> std::result::Result<(u32, Wire), String> {
        let at = self.at();
        let key = self.varint()?;
        let wire = match key & 7 {
            0 => Wire::Varint,
            1 => Wire::Fixed64,
            2 => Wire::Len,
            3 => Wire::StartGroup,
            4 => Wire::EndGroup,
            5 => Wire::Fixed32,
            w => return Err(format!("invalid wire type {w} at byte {at}")),
        };
        let field = key >> 3;
        if field == 0 || field > (1 << 29) - 1 {
            return Err(format!("invalid field number {field} at byte {at}"));
        }
        Ok((field as u32, wire))
    }

    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], String> {
        let left = self.buf.len() - self.pos;
        if n > left {
            return Err(format!(
                "{what} of {n} bytes at byte {} runs past the end ({left} bytes left)",
                self.at()
            ));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// A length-delimited payload and the file offset it starts at.
    fn len_delimited(&mut self) -> std::result::Result<(&'a [u8], usize), String> {
        let n = self.varint()?;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let start = self.at();
        Ok((self.take(n, "length-delimited field")?, start))
    }

    fn skip(&mut self, field: u32, wire: Wire, depth: usize) -> std::result::Result<(), String> {
        match wire {
            Wire::Varint => self.varint().map(drop),
            Wire::Fixed64 => self.take(8, "64-bit field").map(drop),
            Wire::Fixed32 => self.take(4, "32-bit field").map(drop),
            Wire::Len => self.len_delimited().map(drop),
            Wire::StartGroup => {
                if depth >= MAX_GROUP_DEPTH {
                    return Err(format!("groups nested too deep at byte {}", self.at()));
                }
                loop {
                    if self.done() {
                        return Err(format!("group of field {field} is not closed"));
                    }
                    let at = self.at();
                    let (f, w) = self.key()?;
                    if w == Wire::EndGroup {
                        if f == field {
                            return Ok(());
                        }
                        return Err(format!(
                            "end of group {f} at byte {at} inside group {field}"
                        ));
                    }
                    self.skip(f, w, depth + 1)?;
                }
            }
            Wire::EndGroup => Err(format!(
                "end of group {field} without its start before byte {}",
                self.at()
            )),
        }
    }
}

/// The value of a known field, checked for the wire type its declaration implies.
struct Field<'r, 'a> {
    r: &'r mut Reader<'a>,
    wire: Wire,
    at: usize,
    name: &'static str,
}

impl<'a> Field<'_, 'a> {
    fn named(self, name: &'static str) -> Self {
        Field { name, ..self }
    }

    fn expect(&self, want: Wire) -> std::result::Result<(), String> {
        if self.wire == want {
            Ok(())
        } else {
            Err(format!(
                "{}: expected a {} field, found wire type {} at byte {}",
                self.name,
                want.name(),
                self.wire.name(),
                self.at
            ))
        }
    }

    fn ctx(&self, e: String) -> String {
        format!("{}: {e}", self.name)
    }

    fn varint(self) -> std::result::Result<u64, String> {
        self.expect(Wire::Varint)?;
        self.r.varint().map_err(|e| self.ctx(e))
    }

    /// int32 and enums: the low 32 bits of the varint (negative values are sign-extended).
    fn int32(self) -> std::result::Result<i32, String> {
        Ok(self.varint()? as u32 as i32)
    }

    fn bool(self) -> std::result::Result<bool, String> {
        Ok(self.varint()? != 0)
    }

    fn float(self) -> std::result::Result<f32, String> {
        self.expect(Wire::Fixed32)?;
        let b = self.r.take(4, "32-bit field").map_err(|e| self.ctx(e))?;
        Ok(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(self) -> std::result::Result<(&'a [u8], usize), String> {
        self.expect(Wire::Len)?;
        self.r.len_delimited().map_err(|e| self.ctx(e))
    }

    fn string(self) -> std::result::Result<String, String> {
        let name = self.name;
        let (b, at) = self.bytes()?;
        String::from_utf8(b.to_vec())
            .map_err(|_| format!("{name}: the string at byte {at} is not valid UTF-8"))
    }
}

/// Runs `f` on every field of the message in `buf` (starting at file offset `base`); `f`
/// returns `false` for the fields it does not read, which are skipped.
fn each_field<'a>(
    buf: &'a [u8],
    base: usize,
    mut f: impl FnMut(u32, Field<'_, 'a>) -> std::result::Result<bool, String>,
) -> std::result::Result<(), String> {
    let mut r = Reader::new(buf, base);
    while !r.done() {
        let at = r.at();
        let (field, wire) = r.key()?;
        if wire == Wire::EndGroup {
            return Err(format!(
                "end of group {field} at byte {at} outside any group"
            ));
        }
        let value = Field {
            r: &mut r,
            wire,
            at,
            name: "",
        };
        if !f(field, value)? {
            r.skip(field, wire, 0)?;
        }
    }
    Ok(())
}

fn parse_model(buf: &[u8]) -> std::result::Result<SpmModel, String> {
    let mut m = SpmModel::default();
    each_field(buf, 0, |field, fld| {
        match field {
            1 => {
                let (b, base) = fld.named("ModelProto.pieces").bytes()?;
                let piece = parse_piece(b, base, m.pieces.len())?;
                m.pieces.push(piece);
            }
            2 => {
                let (b, base) = fld.named("ModelProto.trainer_spec").bytes()?;
                parse_trainer_spec(b, base, &mut m.trainer_spec)
                    .map_err(|e| format!("trainer_spec: {e}"))?;
            }
            3 => {
                let (b, base) = fld.named("ModelProto.normalizer_spec").bytes()?;
                parse_normalizer_spec(b, base, &mut m.normalizer_spec)
                    .map_err(|e| format!("normalizer_spec: {e}"))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(m)
}

fn parse_piece(buf: &[u8], base: usize, index: usize) -> std::result::Result<Piece, String> {
    let mut p = Piece {
        piece: String::new(),
        score: 0.0,
        kind: PieceType::Normal,
    };
    each_field(buf, base, |field, fld| {
        match field {
            1 => p.piece = fld.named("SentencePiece.piece").string()?,
            2 => p.score = fld.named("SentencePiece.score").float()?,
            3 => {
                let at = fld.at;
                let v = fld.named("SentencePiece.type").int32()?;
                p.kind = PieceType::from_proto(v)
                    .ok_or_else(|| format!("unknown piece type {v} at byte {at}"))?;
            }
            _ => return Ok(false),
        }
        Ok(true)
    })
    .map_err(|e| format!("piece {index}: {e}"))?;
    Ok(p)
}

fn parse_trainer_spec(
    buf: &[u8],
    base: usize,
    t: &mut TrainerSpec,
) -> std::result::Result<(), String> {
    each_field(buf, base, |field, fld| {
        match field {
            3 => {
                let at = fld.at;
                let v = fld.named("TrainerSpec.model_type").int32()?;
                t.model_type = match v {
                    1 => ModelType::Unigram,
                    2 => ModelType::Bpe,
                    3 => ModelType::Word,
                    4 => ModelType::Char,
                    _ => return Err(format!("unknown model type {v} at byte {at}")),
                };
            }
            4 => t.vocab_size = fld.named("TrainerSpec.vocab_size").int32()?,
            35 => t.byte_fallback = fld.named("TrainerSpec.byte_fallback").bool()?,
            40 => t.unk_id = fld.named("TrainerSpec.unk_id").int32()?,
            41 => t.bos_id = fld.named("TrainerSpec.bos_id").int32()?,
            42 => t.eos_id = fld.named("TrainerSpec.eos_id").int32()?,
            43 => t.pad_id = fld.named("TrainerSpec.pad_id").int32()?,
            45 => t.unk_piece = fld.named("TrainerSpec.unk_piece").string()?,
            46 => t.bos_piece = fld.named("TrainerSpec.bos_piece").string()?,
            47 => t.eos_piece = fld.named("TrainerSpec.eos_piece").string()?,
            48 => t.pad_piece = fld.named("TrainerSpec.pad_piece").string()?,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

fn parse_normalizer_spec(
    buf: &[u8],
    base: usize,
    n: &mut NormalizerSpec,
) -> std::result::Result<(), String> {
    each_field(buf, base, |field, fld| {
        match field {
            1 => n.name = fld.named("NormalizerSpec.name").string()?,
            2 => {
                let (b, _) = fld.named("NormalizerSpec.precompiled_charsmap").bytes()?;
                n.precompiled_charsmap = b.to_vec();
            }
            3 => n.add_dummy_prefix = fld.named("NormalizerSpec.add_dummy_prefix").bool()?,
            4 => {
                n.remove_extra_whitespaces = fld
                    .named("NormalizerSpec.remove_extra_whitespaces")
                    .bool()?
            }
            5 => n.escape_whitespaces = fld.named("NormalizerSpec.escape_whitespaces").bool()?,
            _ => return Ok(false),
        }
        Ok(true)
    })
}

// ---------------------------------------------------------------------------------------------
// The precompiled charsmap.

/// Checks a `precompiled_charsmap` as `tokenizers`' `Precompiled` normalizer reads it: a
/// little-endian u32 byte size of the trie, the trie (a darts-clone double array of u32 units),
/// then the replacement strings, NUL-separated. While normalizing, that normalizer walks the
/// trie with the bytes of each grapheme (or character) without bounds checks and slices the
/// strings at the offsets its leaves hold; so every node reachable by any byte sequence must
/// have all its children inside the array and every leaf must point at a character boundary
/// of the strings.
fn check_charsmap(blob: &[u8]) -> std::result::Result<(), String> {
    let Some((head, rest)) = blob.split_first_chunk::<4>() else {
        return Err(format!(
            "{} bytes, shorter than its 4-byte header",
            blob.len()
        ));
    };
    let trie_bytes = u32::from_le_bytes(*head) as usize;
    if !trie_bytes.is_multiple_of(4) {
        return Err(format!("trie size {trie_bytes} is not a multiple of 4"));
    }
    if trie_bytes > rest.len() {
        return Err(format!(
            "trie of {trie_bytes} bytes runs past the end ({} bytes left)",
            rest.len()
        ));
    }
    let (trie, strings) = rest.split_at(trie_bytes);
    let units: Vec<usize> = trie
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let strings = std::str::from_utf8(strings)
        .map_err(|e| format!("replacement strings are not valid UTF-8: {e}"))?;
    let Some(&root) = units.first() else {
        return Err("the trie is empty".into());
    };
    // Unit layout (darts-clone, as the spm_precompiled crate decodes it).
    let has_leaf = |u: usize| (u >> 8) & 1 == 1;
    let value = |u: usize| u & ((1 << 31) - 1);
    let label = |u: usize| u & ((1 << 31) | 0xff);
    let offset = |u: usize| (u >> 10) << ((u & (1 << 9)) >> 6);

    let start = offset(root);
    let mut seen = HashSet::from([start]);
    let mut stack = vec![start];
    while let Some(node) = stack.pop() {
        for byte in 1..=255usize {
            let child = node ^ byte;
            let Some(&unit) = units.get(child) else {
                return Err(format!(
                    "trie unit {child} (byte {byte:#04x} after node {node}) is outside the {} \
                     units",
                    units.len()
                ));
            };
            if label(unit) != byte {
                continue;
            }
            let next = child ^ offset(unit);
            if has_leaf(unit) {
                let Some(&leaf) = units.get(next) else {
                    return Err(format!(
                        "leaf unit {next} is outside the {} units",
                        units.len()
                    ));
                };
                let v = value(leaf);
                if v > strings.len() || !strings.is_char_boundary(v) {
                    return Err(format!(
                        "leaf {next} points at byte {v} of the {}-byte replacement strings, \
                         not at a character",
                        strings.len()
                    ));
                }
            }
            if seen.insert(next) {
                stack.push(next);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/spm_convert")
            .join(name)
            .join("spm.model");
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    // --- a protobuf writer for hand-made models -------------------------------------------

    fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
        varint(u64::from(field) << 3 | u64::from(wire), out);
    }

    fn len_field(field: u32, payload: &[u8], out: &mut Vec<u8>) {
        key(field, 2, out);
        varint(payload.len() as u64, out);
        out.extend_from_slice(payload);
    }

    fn int_field(field: u32, v: i64, out: &mut Vec<u8>) {
        key(field, 0, out);
        varint(v as u64, out);
    }

    fn piece(text: &str, score: f32, kind: i64) -> Vec<u8> {
        let mut p = Vec::new();
        len_field(1, text.as_bytes(), &mut p);
        key(2, 5, &mut p);
        p.extend_from_slice(&score.to_le_bytes());
        if kind != 1 {
            int_field(3, kind, &mut p);
        }
        p
    }

    /// A small valid Unigram model: [PAD] [CLS] [SEP] [UNK] then a few pieces; `trainer` and
    /// `normalizer` are the payloads of those messages.
    fn model(trainer: &[u8], normalizer: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        for (text, score, kind) in [
            ("[PAD]", 0.0, 3),
            ("[CLS]", 0.0, 3),
            ("[SEP]", 0.0, 3),
            ("[UNK]", 0.0, 2),
            ("\u{2581}", -2.0, 1),
            ("\u{2581}a", -3.0, 1),
            ("a", -4.0, 1),
            ("b", -4.5, 1),
            ("\u{2581}ab", -5.0, 1),
        ] {
            len_field(1, &piece(text, score, kind), &mut m);
        }
        len_field(2, trainer, &mut m);
        len_field(3, normalizer, &mut m);
        m
    }

    fn deberta_trainer() -> Vec<u8> {
        let mut t = Vec::new();
        int_field(3, 1, &mut t);
        int_field(40, 3, &mut t);
        int_field(41, 1, &mut t);
        int_field(42, 2, &mut t);
        int_field(43, 0, &mut t);
        t
    }

    fn err(bytes: &[u8]) -> String {
        match tokenizer_from_spm_bytes(bytes) {
            Ok(_) => panic!("{} bytes converted without an error", bytes.len()),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn hand_made_model_converts_and_encodes() {
        let bytes = model(&deberta_trainer(), &[]);
        let m = SpmModel::from_bytes(&bytes).unwrap();
        assert_eq!(m.pieces.len(), 9);
        assert_eq!(m.pieces[3].kind, PieceType::Unknown);
        assert_eq!(m.pieces[0].kind, PieceType::Control);
        assert_eq!(m.pieces[5].score, -3.0);
        assert_eq!(m.trainer_spec.unk_id, 3);
        assert_eq!(m.trainer_spec.pad_id, 0);
        // Defaults where the fields are absent.
        assert_eq!(m.trainer_spec.unk_piece, "<unk>");
        assert!(m.normalizer_spec.add_dummy_prefix);
        let tok = m.deberta_v2_tokenizer().unwrap();
        let enc = tok.encode("ab  a c", true).unwrap();
        assert_eq!(enc.get_ids(), &[1, 8, 5, 4, 3, 2]);
        assert_eq!(tok.token_to_id("[MASK]"), Some(9));
        assert_eq!(tok.get_vocab_size(true), 10);
        let words = tok.encode(vec!["ab", "c"], true).unwrap();
        assert_eq!(words.get_ids(), &[1, 8, 4, 3, 2]);
        assert_eq!(
            words.get_word_ids(),
            &[None, Some(0), Some(1), Some(1), None]
        );
    }

    #[test]
    fn negative_int32_and_unknown_fields_and_groups_are_read() {
        let mut t = deberta_trainer();
        int_field(43, -1, &mut t); // pad_id = -1: a 10-byte varint
        int_field(1000, 7, &mut t); // unknown varint
        key(1001, 1, &mut t); // unknown fixed64
        t.extend_from_slice(&[0; 8]);
        key(1002, 5, &mut t); // unknown fixed32
        t.extend_from_slice(&[0; 4]);
        len_field(1003, b"whatever", &mut t); // unknown bytes
        key(1004, 3, &mut t); // unknown group, with a nested group
        int_field(1, 5, &mut t);
        key(2, 3, &mut t);
        key(2, 4, &mut t);
        key(1004, 4, &mut t);
        let mut bytes = model(&t, &[]);
        len_field(4, b"self_test_data", &mut bytes);
        let m = SpmModel::from_bytes(&bytes).unwrap();
        assert_eq!(m.trainer_spec.pad_id, -1);
        assert_eq!(m.trainer_spec.unk_id, 3);
        m.deberta_v2_tokenizer().unwrap();
    }

    #[test]
    fn malformed_protobuf_is_an_error() {
        let good = model(&deberta_trainer(), &[]);
        // Truncated varint (a continuation bit on the last byte).
        assert!(
            err(&[0x0a, 0x80]).contains("truncated varint"),
            "{}",
            err(&[0x0a, 0x80])
        );
        // Overlong varint.
        let mut over = vec![0x48]; // field 9, varint
        over.extend_from_slice(&[0xff; 10]);
        over.push(0x01);
        assert!(err(&over).contains("longer than 64 bits"), "{}", err(&over));
        // Length past the end.
        assert!(err(&[0x0a, 0x05, b'a']).contains("runs past the end"));
        // Wrong wire type for a known field: pieces as a varint, score as a varint.
        assert!(err(&[0x08, 0x01]).contains("expected a length-delimited"));
        let mut p = Vec::new();
        len_field(1, b"x", &mut p);
        int_field(2, 1, &mut p);
        let mut m = Vec::new();
        len_field(1, &p, &mut m);
        assert!(
            err(&m).contains("SentencePiece.score: expected a 32-bit"),
            "{}",
            err(&m)
        );
        // Invalid wire types and field numbers.
        assert!(err(&[0x0e]).contains("invalid wire type 6"));
        assert!(err(&[0x02, 0x00]).contains("invalid field number 0"));
        // An end-group without its start; an unclosed group.
        assert!(err(&[0x0c]).contains("end of group"));
        assert!(err(&[0x4b]).contains("not closed"), "{}", err(&[0x4b]));
        // Invalid UTF-8 in a piece.
        let mut p = Vec::new();
        len_field(1, &[0xff, 0xfe], &mut p);
        let mut m = Vec::new();
        len_field(1, &p, &mut m);
        assert!(err(&m).contains("not valid UTF-8"));
        // Unknown enum values.
        let mut m = good.clone();
        len_field(1, &piece("zz", -1.0, 9), &mut m);
        assert!(err(&m).contains("unknown piece type 9"));
        let mut t = deberta_trainer();
        int_field(3, 7, &mut t);
        assert!(err(&model(&t, &[])).contains("unknown model type 7"));
        // Groups nested too deep.
        let mut deep = Vec::new();
        for _ in 0..40 {
            key(9, 3, &mut deep);
        }
        assert!(err(&deep).contains("nested too deep"));
        // Every truncation of a valid model.
        for n in 0..good.len() {
            let _ = tokenizer_from_spm_bytes(&good[..n]);
        }
    }

    #[test]
    fn unusable_models_are_errors() {
        // No pieces at all (an empty file is a valid, empty protobuf).
        assert!(err(&[]).contains("no pieces"), "{}", err(&[]));
        // BPE.
        let mut t = deberta_trainer();
        int_field(3, 2, &mut t);
        assert!(err(&model(&t, &[])).contains("only Unigram"));
        // unk id out of range, negative, or not the UNKNOWN piece.
        for (unk, want) in [
            (9, "out of range"),
            (-1, "out of range"),
            (1_000_000, "out of range"),
            (4, "not the UNKNOWN piece"),
        ] {
            let mut t = deberta_trainer();
            int_field(40, unk, &mut t);
            let e = err(&model(&t, &[]));
            assert!(e.contains(want), "unk {unk}: {e}");
        }
        // Empty and duplicate pieces, a non-finite score, a second UNKNOWN piece.
        for (extra, want) in [
            (piece("", -1.0, 1), "is empty"),
            (piece("a", -1.0, 1), "duplicate"),
            (piece("q", f32::NAN, 1), "score NaN"),
            (piece("<unk>", 0.0, 2), "second UNKNOWN"),
        ] {
            let mut m = model(&deberta_trainer(), &[]);
            len_field(1, &extra, &mut m);
            let e = err(&m);
            assert!(e.contains(want), "{want}: {e}");
        }
        // A file that does not exist names its path.
        let e = tokenizer_from_spm(Path::new("/nonexistent/spm.model")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/spm.model"), "{e}");
    }

    fn charsmap(trie: &[u32], strings: &[u8]) -> Vec<u8> {
        let mut b = ((trie.len() * 4) as u32).to_le_bytes().to_vec();
        for u in trie {
            b.extend_from_slice(&u.to_le_bytes());
        }
        b.extend_from_slice(strings);
        b
    }

    #[test]
    fn malformed_charsmaps_are_errors() {
        let with = |blob: &[u8]| {
            let mut n = Vec::new();
            len_field(2, blob, &mut n);
            err(&model(&deberta_trainer(), &n))
        };
        assert!(with(&[1, 0]).contains("shorter than its 4-byte header"));
        assert!(with(&[3, 0, 0, 0, 0, 0, 0]).contains("not a multiple of 4"));
        assert!(with(&[8, 0, 0, 0, 0, 0, 0, 0]).contains("runs past the end"));
        assert!(with(&[0, 0, 0, 0]).contains("trie is empty"));
        assert!(with(&charsmap(&[0], b"")).contains("outside the 1 units"));
        assert!(with(&charsmap(&[0; 256], &[0xc3])).contains("not valid UTF-8"));
        // A 512-unit trie whose root's child for byte 'a' is a leaf pointing into "é\0" at 1,
        // the middle of "é".
        let mut trie = vec![0u32; 512];
        // The root: offset 256, so its children are units 256 ^ byte, all inside.
        trie[0] = 256 << 10;
        // Its child for 'a': label 'a', a leaf, offset 1: the leaf unit is 353 ^ 1 = 352.
        let child = 256 ^ usize::from(b'a');
        trie[child] = u32::from(b'a') | (1 << 8) | (1 << 10);
        trie[child ^ 1] = 1;
        let e = with(&charsmap(&trie, "é\0".as_bytes()));
        assert!(e.contains("points at byte 1 of the 3-byte"), "{e}");
        // The same leaf pointing at 0 is fine; past the end is not.
        trie[child ^ 1] = 0;
        let mut n = Vec::new();
        len_field(2, &charsmap(&trie, "é\0".as_bytes()), &mut n);
        tokenizer_from_spm_bytes(&model(&deberta_trainer(), &n)).unwrap();
        trie[child ^ 1] = 4;
        assert!(with(&charsmap(&trie, "é\0".as_bytes())).contains("points at byte 4"));
    }

    #[test]
    fn real_charsmap_passes_the_check() {
        let m = SpmModel::from_bytes(&fixture("deberta_v3_like")).unwrap();
        assert_eq!(m.normalizer_spec.name, "nmt_nfkc");
        check_charsmap(&m.normalizer_spec.precompiled_charsmap).unwrap();
    }

    /// xorshift64*, for reproducible mutations.
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    const PROBES: &[&str] = &[
        "Hello, World! ﬁ ＦＵＬＬ ①²™ café e\u{301} 東京 🍕👨‍👩‍👧 \u{a0}\u{3000}\t\n\x07",
        "  [CLS] [MASK] <<ENT>>  ",
    ];

    /// Mutated models either fail to convert or convert to a tokenizer that encodes without
    /// panicking.
    fn mutate_and_encode(bytes: &[u8], region: std::ops::Range<usize>, rounds: usize, seed: u64) {
        let mut state = seed;
        let mut converted = 0;
        for _ in 0..rounds {
            let mut m = bytes.to_vec();
            let flips = 1 + rng(&mut state) % 4;
            for _ in 0..flips {
                let at = region.start + (rng(&mut state) as usize) % region.len();
                m[at] ^= 1 << (rng(&mut state) % 8);
            }
            if let Ok(tok) = tokenizer_from_spm_bytes(&m) {
                converted += 1;
                for p in PROBES {
                    let _ = tok.encode(*p, true);
                    let _ = tok.encode(p.split_whitespace().collect::<Vec<_>>(), true);
                }
            }
        }
        assert!(
            converted > 0,
            "no mutation converted; the test tests nothing"
        );
    }

    #[test]
    fn mutated_models_never_panic() {
        let small = fixture("identity_bytes");
        mutate_and_encode(&small, 0..small.len(), 300, 0x9e37_79b9_7f4a_7c15);
        // The nfkc model's charsmap is most of its bytes: flips land in the trie and strings.
        let big = fixture("deberta_v3_like");
        mutate_and_encode(&big, 0..big.len(), 40, 0x1234_5678_9abc_def1);
        // Truncations and garbage.
        let mut state = 42u64;
        for _ in 0..200 {
            let n = (rng(&mut state) as usize) % small.len();
            let _ = tokenizer_from_spm_bytes(&small[..n]);
            let garbage: Vec<u8> = (0..(rng(&mut state) % 300))
                .map(|_| rng(&mut state) as u8)
                .collect();
            let _ = tokenizer_from_spm_bytes(&garbage);
        }
    }

    /// Precompiled charsmaps that pass the check normalize every character without panicking.
    #[test]
    fn checked_mutated_charsmaps_normalize_every_char() {
        let m = SpmModel::from_bytes(&fixture("deberta_v3_like")).unwrap();
        let blob = &m.normalizer_spec.precompiled_charsmap;
        let mut state = 7u64;
        let mut passed = 0;
        for _ in 0..12 {
            let mut b = blob.clone();
            let at = 4 + (rng(&mut state) as usize) % (b.len() - 4);
            b[at] ^= 1 << (rng(&mut state) % 8);
            if check_charsmap(&b).is_err() {
                continue;
            }
            passed += 1;
            let pre = Precompiled::from(&b).unwrap();
            let mut buf = [0u8; 4];
            for c in (0..0x3_0000u32).filter_map(char::from_u32) {
                let _ = pre.transform(c.encode_utf8(&mut buf));
            }
        }
        assert!(passed > 0);
    }
}
