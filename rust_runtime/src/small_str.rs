//! `Str`, the string of a `Value::Str`: up to [`INLINE_CAP`] bytes (23 on 64-bit targets) held inline
//! in its three words, a longer one on the heap as a `String`'s parts. Short strings, the common item,
//! then cost no allocation to make, copy or free (docs/optimizations/08-inline-strings.md).
//!
//! Layout: three words. Inline, the first `INLINE_CAP` bytes are the text and the last byte is
//! `INLINE | len`; on the heap, the words are the pointer, the length and the capacity, the capacity
//! stored little-endian so that its most significant byte is the last byte. A `String`'s capacity is
//! at most `isize::MAX`, so that byte is below `INLINE` on the heap: the last byte alone tells the two
//! apart, on every target. An inline string's bytes after its text are zero, so that the ASCII
//! operations below work on whole words.

use std::fmt;
use std::mem::{size_of, ManuallyDrop};
use std::ops::{Deref, DerefMut};

/// The longest text held inline, in bytes.
pub const INLINE_CAP: usize = 3 * size_of::<usize>() - 1;

/// The last byte of an inline string has this bit set (a heap capacity's top byte never does).
const INLINE: u8 = 0x80;

const WORD: usize = size_of::<usize>();
/// Every byte of a word: `0x0101…`.
const ONES: usize = usize::from_ne_bytes([1; WORD]);
/// The high bit of every byte: `0x8080…`.
const HIGH: usize = ONES * 0x80;
/// The bytes of an inline string's last word that hold text (all but the tag byte).
const TEXT_OF_LAST: usize = {
    let mut bytes = [0xff; WORD];
    bytes[WORD - 1] = 0;
    usize::from_ne_bytes(bytes)
};

/// `w` with every ASCII byte in `lo..=hi` (ASCII letters) flipped in case (bit 0x20); `w` is ASCII.
#[inline(always)]
const fn flip_case_in(w: usize, lo: u8, hi: u8) -> usize {
    // Per byte, no carry out of it (an ASCII byte plus at most 0x3f stays below 0x100): the high
    // bit of `w + (0x80 - lo)` says `b >= lo`, that of `w + (0x7f - hi)` says `b > hi`.
    let at_least_lo = w.wrapping_add(ONES * (0x80 - lo as usize));
    let above_hi = w.wrapping_add(ONES * (0x7f - hi as usize));
    w ^ ((at_least_lo & !above_hi & HIGH) >> 2)
}

/// The letters of an ASCII text after [`Str::ascii_mapped`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsciiCase {
    Same,
    Upper,
    Lower,
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Heap {
    ptr: *mut u8,
    len: usize,
    /// The capacity, little-endian (`usize::to_le`).
    cap_le: usize,
}

#[derive(Clone, Copy)]
#[repr(C)]
struct Inline {
    bytes: [u8; INLINE_CAP],
    /// `INLINE | len`.
    tag: u8,
}

#[repr(C)]
union Repr {
    heap: Heap,
    inline: Inline,
}

/// An owned UTF-8 string, inline up to [`INLINE_CAP`] bytes. Dereferences to `str` (and mutably, for
/// transforms in place); a text of at most `INLINE_CAP` bytes is always inline.
pub struct Str(Repr);

// SAFETY: a `Str` owns its heap buffer alone, as a `String` does; nothing is shared between values.
unsafe impl Send for Str {}
// SAFETY: `&Str` only reads the text (no interior mutability).
unsafe impl Sync for Str {}

impl Str {
    /// The empty string (inline).
    pub const fn new() -> Str {
        Str(Repr {
            inline: Inline {
                bytes: [0; INLINE_CAP],
                tag: INLINE,
            },
        })
    }

    #[inline(always)]
    fn tag(&self) -> u8 {
        // SAFETY: both variants are plain data of the same size; the last byte is initialized in
        // either (the top byte of the capacity on the heap).
        unsafe { self.0.inline.tag }
    }

    /// Whether the text is held inline (no heap buffer).
    #[inline(always)]
    pub fn is_inline(&self) -> bool {
        self.tag() >= INLINE
    }

    /// The three words of an inline string, the tag byte cleared (the bytes after the text are
    /// zero).
    ///
    /// Read and written a word at a time, as they are stored: a wider load over narrower stores just
    /// made (or a byte store into a word about to be read) stalls on store forwarding, which cost
    /// more than the operations themselves when several run on one item back to back. Volatile, so
    /// that the compiler keeps them word-sized (it had merged two into one 16-byte load, which
    /// stalled on the word stores of the operation before).
    #[inline(always)]
    fn inline_words(&self) -> [usize; 3] {
        // SAFETY: three initialized words (an inline value); `Str` is word-aligned.
        unsafe {
            let p = std::ptr::from_ref(self).cast::<usize>();
            [
                p.read_volatile(),
                p.add(1).read_volatile(),
                p.add(2).read_volatile() & TEXT_OF_LAST,
            ]
        }
    }

    /// An inline string from its three words, tag included (made in registers, moved as words).
    #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
    #[inline(always)]
    fn from_inline_words(words: [usize; 3]) -> Str {
        debug_assert!(words[2].to_le_bytes()[WORD - 1] >= INLINE);
        // SAFETY: three words are the size of `Inline`, whose bytes are all plain data; the caller's
        // tag byte marks the value inline and its length, and the words hold that much UTF-8 text
        // followed by zeros.
        Str(Repr {
            inline: unsafe { std::mem::transmute::<[usize; 3], Inline>(words) },
        })
    }

    /// Stores the text words of an inline string (its tag kept, in the same word store); they stay
    /// ASCII of the same length.
    #[inline(always)]
    fn set_inline_words(&mut self, [a, b, c]: [usize; 3]) {
        // SAFETY: an inline value is three plain words; the text keeps its length and stays valid
        // UTF-8 (the caller's ASCII operations keep ASCII and the zero bytes after the text).
        unsafe {
            let p = std::ptr::from_mut(self).cast::<usize>();
            let tag = p.add(2).read_volatile() & !TEXT_OF_LAST;
            p.write_volatile(a);
            p.add(1).write_volatile(b);
            p.add(2).write_volatile(c | tag);
        }
    }

    /// `str::is_ascii`, three word tests for an inline string.
    #[inline(always)]
    pub fn is_ascii(&self) -> bool {
        if self.is_inline() {
            let [a, b, c] = self.inline_words();
            (a | b | c) & HIGH == 0
        } else {
            self.as_str().is_ascii()
        }
    }

    /// `str::make_ascii_uppercase`, word by word for an inline ASCII string.
    #[inline(always)]
    pub fn make_ascii_uppercase(&mut self) {
        self.flip_ascii_case(b'a', b'z', str::make_ascii_uppercase);
    }

    /// `str::make_ascii_lowercase`, word by word for an inline ASCII string.
    #[inline(always)]
    pub fn make_ascii_lowercase(&mut self) {
        self.flip_ascii_case(b'A', b'Z', str::make_ascii_lowercase);
    }

    #[inline(always)]
    fn flip_ascii_case(&mut self, lo: u8, hi: u8, otherwise: fn(&mut str)) {
        if self.is_inline() {
            let [a, b, c] = self.inline_words();
            if (a | b | c) & HIGH == 0 {
                let flip = |w| flip_case_in(w, lo, hi);
                self.set_inline_words([flip(a), flip(b), flip(c)]);
                return;
            }
        }
        otherwise(self);
    }

    /// A new string: this inline ASCII text with its letters in `case` and, when `reversed`, its
    /// bytes in reverse order; made in registers from the text's words and returned whole. `None`
    /// when the text is not inline ASCII, or is reversed and longer than 16 bytes.
    ///
    /// For a loop that reads an item and writes its result elsewhere: copying the item into the
    /// result's slot and changing it there reads words back from the copy's wider stores, which
    /// stalled on store forwarding (the text floor's loop ran slower than the executor's).
    #[inline(always)]
    pub fn ascii_mapped(&self, case: AsciiCase, reversed: bool) -> Option<Str> {
        #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
        if self.is_inline() {
            let n = self.len();
            let [a, b, c] = self.inline_words();
            if (a | b | c) & HIGH != 0 || (reversed && n > 16) {
                return None;
            }
            let map = |w| match case {
                AsciiCase::Same => w,
                AsciiCase::Upper => flip_case_in(w, b'a', b'z'),
                AsciiCase::Lower => flip_case_in(w, b'A', b'Z'),
            };
            let (mut a, mut b, c) = (map(a), map(b), map(c));
            if reversed {
                // As in `reverse_ascii`: the two words byte-swapped as one number, shifted down.
                let head = (u128::from(b as u64) << 64 | u128::from(a as u64)).swap_bytes();
                let r = if n == 0 { 0 } else { head >> (8 * (16 - n)) };
                (a, b) = (r as usize, (r >> 64) as usize);
            }
            let tag = usize::from(INLINE | n as u8) << 56;
            return Some(Str::from_inline_words([a, b, c | tag]));
        }
        let _ = (case, reversed);
        None
    }

    /// Reverses the text's bytes: `s[::-1]` for an ASCII text.
    ///
    /// # Safety
    /// The text is ASCII (reversed, the bytes of a longer character would not be UTF-8).
    #[inline(always)]
    pub unsafe fn reverse_ascii(&mut self) {
        let n = self.len();
        #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
        if self.is_inline() && n <= 16 {
            // The first two words as one number: byte-swapped, the text ends at its top byte;
            // shifted down by the padding, it starts at byte 0 and zeros follow, as before. Read and
            // written as two words (see `inline_words`).
            // SAFETY: an inline value starts with two plain, aligned words (n <= 16 < INLINE_CAP).
            unsafe {
                let p = std::ptr::from_mut(self).cast::<u64>();
                let (lo, hi) = (p.read_volatile(), p.add(1).read_volatile());
                let head = (u128::from(hi) << 64 | u128::from(lo)).swap_bytes();
                let reversed = if n == 0 { 0 } else { head >> (8 * (16 - n)) };
                p.write_volatile(reversed as u64);
                p.add(1).write_volatile((reversed >> 64) as u64);
            }
            return;
        }
        // SAFETY: the caller's promise: reversed, ASCII stays valid UTF-8.
        unsafe { self.as_bytes_mut().reverse() };
    }

    /// The text.
    #[inline(always)]
    pub fn as_str(&self) -> &str {
        // SAFETY: the bytes are the valid UTF-8 text this value was made with (or changed to by
        // `DerefMut`, which keeps it valid).
        unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(self.ptr(), self.len())) }
    }

    /// The text's length in bytes.
    #[inline(always)]
    pub fn len(&self) -> usize {
        let tag = self.tag();
        if tag >= INLINE {
            usize::from(tag & !INLINE)
        } else {
            // SAFETY: heap variant (see the layout in the module comment).
            unsafe { self.0.heap.len }
        }
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline(always)]
    fn ptr(&self) -> *const u8 {
        if self.is_inline() {
            // SAFETY: inline variant; its bytes are at the start of the value.
            unsafe { self.0.inline.bytes.as_ptr() }
        } else {
            // SAFETY: heap variant.
            unsafe { self.0.heap.ptr }
        }
    }

    /// A string of `len` bytes written by `fill` (given them zeroed), without a check of the result:
    /// inline when short, so that a transform can write its output straight into its place.
    ///
    /// # Safety
    /// `fill` leaves valid UTF-8 in the slice.
    #[inline(always)]
    pub unsafe fn from_utf8_fill(len: usize, fill: impl FnOnce(&mut [u8])) -> Str {
        if len <= INLINE_CAP {
            let mut inline = Inline {
                bytes: [0; INLINE_CAP],
                tag: INLINE | len as u8,
            };
            fill(&mut inline.bytes[..len]);
            Str(Repr { inline })
        } else {
            let mut bytes = vec![0u8; len];
            fill(&mut bytes);
            // SAFETY: the caller's promise.
            Str::heap(unsafe { String::from_utf8_unchecked(bytes) })
        }
    }

    /// `s` kept on the heap as it is (the caller has checked it is longer than `INLINE_CAP`).
    fn heap(s: String) -> Str {
        let mut s = ManuallyDrop::new(s);
        Str(Repr {
            heap: Heap {
                ptr: s.as_mut_ptr(),
                len: s.len(),
                cap_le: s.capacity().to_le(),
            },
        })
    }

    /// The text as a `String` (moved when on the heap).
    pub fn into_string(self) -> String {
        if self.is_inline() {
            return self.as_str().to_owned();
        }
        let this = ManuallyDrop::new(self);
        // SAFETY: heap variant: the parts of the `String` it was made from, now owned by the result
        // (`this` is not dropped).
        unsafe {
            let h = this.0.heap;
            String::from_raw_parts(h.ptr, h.len, usize::from_le(h.cap_le))
        }
    }

    #[inline(never)]
    fn drop_heap(&mut self) {
        // SAFETY: heap variant: the parts of a `String` this value owns, freed once (from `drop`).
        unsafe {
            let h = self.0.heap;
            drop(String::from_raw_parts(
                h.ptr,
                h.len,
                usize::from_le(h.cap_le),
            ));
        }
    }
}

/// The three words of an inline string holding the `n <= INLINE_CAP` bytes at `src`, zeros after
/// them and no tag, assembled in registers from at most three loads of the source.
///
/// Copying the bytes into a buffer on the stack with overlapping stores and then moving the value
/// as words made each word load span several of those stores, which the CPU cannot forward: the
/// stall was 78 % of the input conversion's samples on the text scenario (perf, cpu-clock).
///
/// # Safety
/// `src` is valid for reads of `n` bytes, `n <= INLINE_CAP`.
#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[inline(always)]
unsafe fn inline_words_of(src: *const u8, n: usize) -> [usize; 3] {
    debug_assert!(n <= INLINE_CAP);
    let load = |at: usize| unsafe { src.add(at).cast::<usize>().read_unaligned() };
    // The word ending at the text's end, shifted down so that its first byte is the one at `from`:
    // the bytes `from..n` at the bottom, zeros above them (`n - from` is 1 to 8).
    let tail_from = |from: usize| load(n - 8) >> (8 * (8 - (n - from)));
    unsafe {
        match n {
            17.. => [load(0), load(8), tail_from(16)],
            9..=16 => [load(0), tail_from(8), 0],
            8 => [load(0), 0, 0],
            4..=7 => {
                // Two overlapping 4-byte loads; the bytes they share are the same.
                let head = src.cast::<u32>().read_unaligned() as usize;
                let tail =
                    (src.add(n - 4).cast::<u32>().read_unaligned() as usize) << (8 * (n - 4));
                [head | tail, 0, 0]
            }
            _ => {
                let mut w = 0usize;
                for i in 0..n {
                    w |= usize::from(*src.add(i)) << (8 * i);
                }
                [w, 0, 0]
            }
        }
    }
}

/// Copies `n <= INLINE_CAP` bytes with a few overlapping word moves (`copy_nonoverlapping` with a
/// run-time length is a call to `memcpy`, through the PLT).
///
/// # Safety
/// `src` is valid for reads and `dst` for writes of `n` bytes; they do not overlap.
#[inline(always)]
unsafe fn copy_short(src: *const u8, dst: *mut u8, n: usize) {
    debug_assert!(n <= INLINE_CAP);
    unsafe {
        if n > 16 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(8).cast::<u64>().read_unaligned();
            let tail = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(8).cast::<u64>().write_unaligned(b);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else if n >= 8 {
            let head = src.cast::<u64>().read_unaligned();
            let tail = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(head);
            dst.add(n - 8).cast::<u64>().write_unaligned(tail);
        } else if n >= 4 {
            let head = src.cast::<u32>().read_unaligned();
            let tail = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(head);
            dst.add(n - 4).cast::<u32>().write_unaligned(tail);
        } else {
            for i in 0..n {
                *dst.add(i) = *src.add(i);
            }
        }
    }
}

impl Default for Str {
    fn default() -> Str {
        Str::new()
    }
}

impl Drop for Str {
    #[inline]
    fn drop(&mut self) {
        if !self.is_inline() {
            self.drop_heap();
        }
    }
}

impl Clone for Str {
    #[inline]
    fn clone(&self) -> Str {
        if self.is_inline() {
            // SAFETY: an inline string owns nothing: its bytes are the whole value.
            Str(Repr {
                inline: unsafe { self.0.inline },
            })
        } else {
            Str::from(self.as_str())
        }
    }
}

impl From<&str> for Str {
    #[inline]
    fn from(s: &str) -> Str {
        let n = s.len();
        #[cfg(all(target_endian = "little", target_pointer_width = "64"))]
        if n <= INLINE_CAP {
            // SAFETY: `s` is valid for reads of its `n <= INLINE_CAP` bytes.
            let [a, b, c] = unsafe { inline_words_of(s.as_ptr(), n) };
            return Str::from_inline_words([a, b, c | (usize::from(INLINE | n as u8) << 56)]);
        }
        if n <= INLINE_CAP {
            let mut inline = Inline {
                bytes: [0; INLINE_CAP],
                tag: INLINE | n as u8,
            };
            // SAFETY: `n` bytes of `s` into a buffer of `INLINE_CAP >= n` bytes.
            unsafe { copy_short(s.as_ptr(), inline.bytes.as_mut_ptr(), n) };
            Str(Repr { inline })
        } else {
            Str::heap(s.to_owned())
        }
    }
}

impl From<String> for Str {
    /// Moves a long string; a short one is copied inline (and its buffer freed).
    #[inline]
    fn from(s: String) -> Str {
        if s.len() <= INLINE_CAP {
            Str::from(s.as_str())
        } else {
            Str::heap(s)
        }
    }
}

impl Deref for Str {
    type Target = str;

    #[inline(always)]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl DerefMut for Str {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut str {
        let len = self.len();
        let ptr = if self.is_inline() {
            // SAFETY: inline variant.
            unsafe { self.0.inline.bytes.as_mut_ptr() }
        } else {
            // SAFETY: heap variant.
            unsafe { self.0.heap.ptr }
        };
        // SAFETY: `len` bytes of valid UTF-8 owned by `self`, borrowed mutably through it (`str`'s
        // own methods keep them valid UTF-8).
        unsafe { std::str::from_utf8_unchecked_mut(std::slice::from_raw_parts_mut(ptr, len)) }
    }
}

impl PartialEq for Str {
    fn eq(&self, other: &Str) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Str {}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_words_and_inline_up_to_the_cap() {
        assert_eq!(size_of::<Str>(), 3 * size_of::<usize>());
        for n in 0..=INLINE_CAP + 2 {
            let text: String = "abcdefghijklmnopqrstuvwxyz"
                .chars()
                .cycle()
                .take(n)
                .collect();
            let s = Str::from(text.as_str());
            assert_eq!(s.is_inline(), n <= INLINE_CAP, "length {n}");
            assert_eq!(s.as_str(), text);
            assert_eq!(s.len(), n);
            assert_eq!(Str::from(text.clone()), s);
            assert_eq!(Str::from(text.clone()).is_inline(), n <= INLINE_CAP);
            let copy = s.clone();
            assert_eq!(copy.as_str(), text);
            assert_eq!(copy.into_string(), text);
        }
    }

    #[test]
    fn made_from_any_slice_of_a_longer_text() {
        // Every length at every offset of a text that goes on after the slice: the words are
        // assembled from loads that must neither read past the slice's end nor keep its neighbours.
        let text = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-ünï-0123456789";
        for start in 0..8 {
            for n in 0..=INLINE_CAP {
                let Some(part) = text.get(start..start + n) else {
                    continue;
                };
                let s = Str::from(part);
                assert!(s.is_inline());
                assert_eq!(s.as_str(), part, "offset {start}, length {n}");
                // The bytes after the text are zero, which the word-wise operations rely on.
                // SAFETY: an inline value.
                let bytes = unsafe { s.0.inline.bytes };
                assert!(
                    bytes[n..].iter().all(|&b| b == 0),
                    "offset {start}, length {n}"
                );
                let mut upper = Str::from(part);
                upper.make_ascii_uppercase();
                assert_eq!(upper.as_str(), part.to_ascii_uppercase());
            }
        }
    }

    #[test]
    fn long_strings_move_their_buffer() {
        let text = "a string longer than any inline one: ünïcödé".to_owned();
        let ptr = text.as_ptr();
        let s = Str::from(text);
        assert!(!s.is_inline());
        assert_eq!(s.as_ptr(), ptr);
        let back = s.into_string();
        assert_eq!(back.as_ptr(), ptr);
    }

    #[test]
    fn changed_in_place() {
        for text in [
            "héllo wörld",
            "a much longer text, past the inline capacity",
        ] {
            let mut s = Str::from(text);
            s.make_ascii_uppercase();
            assert_eq!(s, text.to_ascii_uppercase().as_str());
        }
    }

    #[test]
    fn filled_in_place() {
        for n in [0, 5, INLINE_CAP, INLINE_CAP + 1, 100] {
            // SAFETY: ASCII bytes are valid UTF-8.
            let s = unsafe { Str::from_utf8_fill(n, |b| b.fill(b'x')) };
            assert_eq!(s.as_str(), "x".repeat(n));
            assert_eq!(s.is_inline(), n <= INLINE_CAP);
        }
    }

    #[test]
    fn ascii_operations_word_by_word() {
        let texts = [
            "",
            "a",
            "test string 42",
            "Mixed Case @[`{ 09 xyz",
            "exactly sixteen!",
            "twenty-three bytes long",
            "a text longer than the inline capacity, on the heap",
            "héllo wörld",
            "ΟΔΟΣ",
        ];
        for text in texts {
            let s = Str::from(text);
            assert_eq!(s.is_ascii(), text.is_ascii(), "{text:?}");
            let mut up = s.clone();
            up.make_ascii_uppercase();
            assert_eq!(up, text.to_ascii_uppercase().as_str());
            let mut low = s.clone();
            low.make_ascii_lowercase();
            assert_eq!(low, text.to_ascii_lowercase().as_str());
            if text.is_ascii() {
                let mut rev = s.clone();
                // SAFETY: checked ASCII above.
                unsafe { rev.reverse_ascii() };
                assert_eq!(rev, text.chars().rev().collect::<String>().as_str());
                // The bytes after the text stay zero: equal to one made fresh.
                if rev.is_inline() {
                    assert_eq!(rev.inline_words(), Str::from(rev.as_str()).inline_words());
                    assert_eq!(up.inline_words(), Str::from(up.as_str()).inline_words());
                }
            }
        }
        // Every ASCII byte, in every position of every word.
        let all: Vec<u8> = (0u8..0x80).collect();
        for chunk in all.chunks(INLINE_CAP) {
            let text = std::str::from_utf8(chunk).unwrap();
            let mut up = Str::from(text);
            up.make_ascii_uppercase();
            assert_eq!(up, text.to_ascii_uppercase().as_str());
            let mut low = Str::from(text);
            low.make_ascii_lowercase();
            assert_eq!(low, text.to_ascii_lowercase().as_str());
        }
    }

    #[test]
    fn multibyte_text_inline() {
        let s = Str::from("ΟΔΟΣ😀");
        assert!(s.is_inline());
        assert_eq!(s.chars().rev().collect::<String>(), "😀ΣΟΔΟ");
        assert_eq!(format!("{s:?}"), "\"ΟΔΟΣ😀\"");
        assert_eq!(Str::new(), "");
        assert!(Str::default().is_empty());
    }
}
