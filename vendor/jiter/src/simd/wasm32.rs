//! The string scan with wasm's 128-bit SIMD (added by apiary; upstream jiter has SIMD for
//! x86_64 and aarch64 only). Compiled when the target enables `simd128`.
//!
//! Unlike the x86_64 scan, the first special byte of a chunk is found from the lane mask
//! (`i8x16.bitmask` then a count of trailing zeros) rather than by a byte-by-byte rescan: in
//! wasm each byte of that rescan costs a bounds-checked table lookup, and most JSON strings
//! are shorter than one chunk, so the rescan would be most of the work.

use std::arch::wasm32::{i8x16_bitmask, i8x16_lt, u8x16_eq, u8x16_le, u8x16_splat, v128, v128_load, v128_or};

use crate::errors::{JsonResult, json_err};
use crate::string_decoder::StringChunk;

const SIMD_STEP: usize = 16;

/// The position of the string's end or first backslash from `index`, whether the bytes before
/// it are all ASCII, as [`super::fallback_string::decode_string_chunk`] computes it.
#[inline]
pub(crate) fn decode_string_chunk(
    data: &[u8],
    mut index: usize,
    mut ascii_only: bool,
    allow_partial: bool,
) -> JsonResult<(StringChunk, bool, usize)> {
    while let Some(byte_chunk) = data.get(index..index + SIMD_STEP) {
        let bytes = load(byte_chunk);
        let stop = stop_mask(bytes);
        let wide = if ascii_only { i8x16_bitmask(i8x16_lt(bytes, u8x16_splat(0))) } else { 0 };
        // Non-ASCII bytes before the first stop byte make the string non-ASCII.
        let before_stop = if stop == 0 { u16::MAX } else { (1u16 << stop.trailing_zeros()) - 1 };
        if wide & before_stop != 0 {
            ascii_only = false;
        }
        if stop != 0 {
            let at = stop.trailing_zeros() as usize;
            let found = index + at;
            return match byte_chunk[at] {
                b'"' => Ok((StringChunk::StringEnd, ascii_only, found)),
                b'\\' => Ok((StringChunk::Backslash, ascii_only, found)),
                _ => json_err!(ControlCharacterWhileParsingString, found),
            };
        }
        index += SIMD_STEP;
    }
    // Fewer than sixteen bytes left in the input: the scalar scan finishes.
    super::fallback_string::decode_string_chunk(data, index, ascii_only, allow_partial)
}

/// One bit per lane holding a quote, a backslash or a control character (below 0x20).
#[inline]
fn stop_mask(bytes: v128) -> u16 {
    let quote = u8x16_eq(bytes, u8x16_splat(b'"'));
    let backslash = u8x16_eq(bytes, u8x16_splat(b'\\'));
    let control = u8x16_le(bytes, u8x16_splat(0x1f));
    i8x16_bitmask(v128_or(quote, v128_or(backslash, control)))
}

#[inline]
fn load(bytes: &[u8]) -> v128 {
    debug_assert_eq!(bytes.len(), SIMD_STEP);
    // SAFETY: `bytes` holds sixteen readable bytes; `v128_load` has no alignment requirement.
    unsafe { v128_load(bytes.as_ptr().cast()) }
}
