//! Kafka's default partitioner for keyed records: murmur2 of the key bytes, made positive,
//! modulo the partition count. The same key lands on the same partition as with a Java,
//! librdkafka (`murmur2_random`) or kafka-python producer.

/// Kafka's murmur2 hash (`org.apache.kafka.common.utils.Utils.murmur2`): MurmurHash2, 32 bit,
/// seed `0x9747b28c`, the tail bytes mixed in little-endian order.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, b) in tail.iter().enumerate() {
            h ^= u32::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Kafka's default partitioner picks for `key` among `partitions`
/// (`toPositive(murmur2(key)) % partitions`; `toPositive` clears the sign bit).
/// `partitions` must be at least 1; 0 gives 0.
pub fn partition_for_key(key: &[u8], partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    ((murmur2(key) & 0x7fff_ffff) as u32) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sign_bit_is_cleared_not_negated() {
        // A key whose hash is negative: Kafka masks the sign bit (abs() would differ).
        let key = b"21";
        let h = murmur2(key);
        assert!(h < 0);
        assert_eq!(
            partition_for_key(key, 7),
            ((h as u32) & 0x7fff_ffff) % 7,
            "masking, not abs"
        );
        assert_ne!(partition_for_key(key, 7), h.unsigned_abs() % 7);
    }
}
