/*!
Byte searches for the parser: the first occurrence of a byte (or of either
of two), every occurrence, and every line that starts with a given
delimiter.

Why not the memchr crate: its first search asks the CPU which vector
instructions it has (the `cpuid` instruction, several times), and in a
virtual machine each `cpuid` traps to the hypervisor. qmvc is a process
per message and a 4 KB message is parsed in a few microseconds, so that
one-time question cost more than all the searching (about 3 % of a whole
delivery, measured with `perf` under scripts/bench). These searches read
eight bytes at a time in plain integer arithmetic ("SWAR"), need no
detection, and stay linear. Only a body of a megabyte or more is searched
for its delimiters with `memchr::memmem`, several times faster there,
where the one-time detection no longer counts.
*/

/// `0x01` in every byte.
const LO: u64 = 0x0101_0101_0101_0101;
/// `0x80` in every byte.
const HI: u64 = 0x8080_8080_8080_8080;

/// The high bit set in each byte of `word` that is zero, and maybe in
/// bytes above the lowest zero byte (a borrow only travels upwards), so
/// the lowest bit set always marks a true zero byte.
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(LO) & !word & HI
}

/// The eight bytes of `hay` at `at` as a little-endian word, if there
/// are eight.
fn word(hay: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = hay.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// The position of the first byte of `hay` that `hits` marks: `hits`
/// gives a word's [`zero_bytes`]-style marks, `is` tests a single byte.
/// Plain loops, so that a debug build is not much slower either.
fn scan(
    hay: &[u8],
    hits: impl Fn(u64) -> u64,
    is: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut at = 0;
    while let Some(word) = word(hay, at) {
        let marks = hits(word);
        if marks != 0 {
            return Some(at + marks.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    while let Some(&b) = hay.get(at) {
        if is(b) {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// The position of the first `needle` in `hay`.
pub(crate) fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    let splat = LO.wrapping_mul(u64::from(needle));
    scan(hay, |w| zero_bytes(w ^ splat), |b| b == needle)
}

/// The position of the first `a` or `b` in `hay`.
pub(crate) fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let sa = LO.wrapping_mul(u64::from(a));
    let sb = LO.wrapping_mul(u64::from(b));
    scan(
        hay,
        |w| zero_bytes(w ^ sa) | zero_bytes(w ^ sb),
        |c| c == a || c == b,
    )
}

/// Every position of `needle` in `hay`, in order.
pub(crate) fn positions(
    needle: u8,
    hay: &[u8],
) -> impl Iterator<Item = usize> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let at = from + find(needle, hay.get(from..)?)?;
        from = at + 1;
        Some(at)
    })
}

/// From this many bytes on, [`line_starts`] leaves the search to
/// `memchr::memmem`: its vector search skips a big body several times
/// faster than a visit to every line end, and its one-time question to
/// the CPU is then lost in the time the body takes anyway.
const BIG: usize = 1 << 20;

/// Every position `i` where `hay[i..]` starts with `needle`, a line
/// break followed by text without one (`\n--boundary`), in order; none
/// when `needle` does not have that form. Linear: a comparison starts
/// only at a line break and stops at the next line break of `hay` at the
/// latest, where the next candidate starts.
pub(crate) fn line_starts<'h>(
    hay: &'h [u8],
    needle: &'h [u8],
) -> Box<dyn Iterator<Item = usize> + 'h> {
    let valid = needle.first() == Some(&b'\n')
        && find(b'\n', needle.get(1..).unwrap_or_default()).is_none();
    if !valid {
        return Box::new(std::iter::empty());
    }
    if hay.len() >= BIG {
        return Box::new(memchr::memmem::find_iter(hay, needle));
    }
    // Look for the byte after the line break (`-` of `--boundary`),
    // which base64 never has and text seldom does, instead of visiting
    // every line end; then check that a line break comes before it.
    let Some(&second) = needle.get(1) else {
        return Box::new(positions(b'\n', hay).filter(move |&i| {
            hay.get(i..).is_some_and(|rest| rest.starts_with(needle))
        }));
    };
    Box::new(positions(second, hay).filter_map(move |at| {
        let i = at.checked_sub(1)?;
        hay.get(i..)?.starts_with(needle).then_some(i)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious answers, for comparison.
    fn naive(needle: u8, hay: &[u8]) -> Option<usize> {
        hay.iter().position(|&b| b == needle)
    }

    #[test]
    fn find_agrees_with_a_plain_scan() {
        let mut hay: Vec<u8> = (0..=255u8).cycle().take(700).collect();
        for needle in [0u8, 1, 0x7f, 0x80, 0xff, b'\n', b':'] {
            for len in 0..40 {
                for start in 0..9 {
                    let h = hay.get(start..start + len).unwrap_or_default();
                    assert_eq!(find(needle, h), naive(needle, h));
                }
            }
        }
        // Bytes just below and above the needle (borrow false positives).
        hay = b"\x0b\x09\x0a\x0a\x0b\x0a".repeat(5);
        assert_eq!(find(b'\n', &hay), Some(2));
        assert_eq!(
            find(0x09, b"\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x0a\x09"),
            Some(9)
        );
        assert_eq!(find(b'x', b""), None);
    }

    #[test]
    fn find2_finds_either() {
        assert_eq!(find2(b'\r', b'\n', b"abcdefghij\nk\r"), Some(10));
        assert_eq!(find2(b'\r', b'\n', b"abcdefghijk\r"), Some(11));
        assert_eq!(find2(b'\r', b'\n', b"abc\r"), Some(3));
        assert_eq!(find2(b'\r', b'\n', b"abcdefghijklmnop"), None);
    }

    #[test]
    fn positions_and_line_starts() {
        let hay = b"a\nb\n\nc--x\n--x\n--xy\n--x--";
        let all: Vec<usize> = positions(b'\n', hay).collect();
        assert_eq!(all, [1, 3, 4, 9, 13, 18]);
        let starts: Vec<usize> = line_starts(hay, b"\n--x").collect();
        assert_eq!(starts, [9, 13, 18]);
        // A needle that is no single line finds nothing.
        assert_eq!(line_starts(hay, b"--x").count(), 0);
        assert_eq!(line_starts(hay, b"\n--\nx").count(), 0);
        // A big body is searched by memmem, with the same answers.
        let mut big = b"x\n--b\n".repeat(BIG / 6 + 1);
        big.extend_from_slice(b"\n--bb\n");
        let small: Vec<usize> = positions(b'\n', &big)
            .filter(|&i| big[i..].starts_with(b"\n--b"))
            .collect();
        let found: Vec<usize> = line_starts(&big, b"\n--b").collect();
        assert_eq!(found, small);
        // The byte after the line break also where no line break is
        // before it, at the very start, and after a line break that
        // ends the hay.
        let hay = b"--x\n-\n--x-\n--x\n";
        let starts: Vec<usize> = line_starts(hay, b"\n--x").collect();
        assert_eq!(starts, [5, 10]);
        assert_eq!(line_starts(b"\n", b"\n-").count(), 0);
        assert_eq!(line_starts(b"ab\n", b"\n").collect::<Vec<_>>(), [2]);
    }
}
