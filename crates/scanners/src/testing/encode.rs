/*!
Encodings the tests' messages need: base64 bodies and zip archives
(stored, or of members packed by the caller), written out here so the
tests build their attachments byte by byte instead of trusting the
decoders under test.
*/

const ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Base64 in lines of 76 characters, without a final line end.
pub fn base64(data: &[u8]) -> String {
    let mut flat = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n =
            (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                flat.push(
                    ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char,
                );
            } else {
                flat.push('=');
            }
        }
    }
    let lines: Vec<&str> = flat
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    lines.join("\n")
}

/// CRC-32 (IEEE), bit by bit: the zip checksum.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc =
                if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A zip archive of `members` (name, content), stored uncompressed.
pub fn zip(members: &[(&str, &[u8])]) -> Vec<u8> {
    let members: Vec<ZipMember> = members
        .iter()
        .map(|(name, data)| ZipMember {
            name,
            method: 0,
            crc: crc32(data),
            size: data.len() as u32,
            packed: data,
        })
        .collect();
    zip_of(&members)
}

/// A zip member as it lies in the archive. A caller that packs once
/// can lay the same member down many times (a bomb) without packing it
/// again.
pub struct ZipMember<'a> {
    /// The member's name.
    pub name: &'a str,
    /// The zip method: 0 stored, 8 deflate.
    pub method: u16,
    /// The CRC-32 of the unpacked content.
    pub crc: u32,
    /// The size of the unpacked content.
    pub size: u32,
    /// The data as packed by `method`.
    pub packed: &'a [u8],
}

/// A zip archive of `members`, laid out as they are given.
pub fn zip_of(members: &[ZipMember]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for member in members {
        let offset = out.len() as u32;
        let (name, method) = (member.name, member.method);
        let packed = member.packed.len() as u32;
        let name_len = name.len() as u16;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&method.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0x0021u16.to_le_bytes()); // 1980-01-01
        out.extend_from_slice(&member.crc.to_le_bytes());
        out.extend_from_slice(&packed.to_le_bytes());
        out.extend_from_slice(&member.size.to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(member.packed);
        // Central directory entry.
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes()); // flags
        central.extend_from_slice(&method.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // time
        central.extend_from_slice(&0x0021u16.to_le_bytes()); // date
        central.extend_from_slice(&member.crc.to_le_bytes());
        central.extend_from_slice(&packed.to_le_bytes());
        central.extend_from_slice(&member.size.to_le_bytes());
        central.extend_from_slice(&name_len.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal
        central.extend_from_slice(&0u32.to_le_bytes()); // external
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    let count = members.len() as u16;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&central_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_of_a_known_string() {
        assert_eq!(base64(b"make money fast"), "bWFrZSBtb25leSBmYXN0");
        assert_eq!(base64(&[0; 60]).lines().next().map(str::len), Some(76));
    }

    #[test]
    fn crc32_is_the_zip_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
