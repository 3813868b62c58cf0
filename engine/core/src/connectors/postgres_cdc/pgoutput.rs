//! Decoding of PostgreSQL's `pgoutput` logical replication messages (protocol version 1), as
//! `pg_logical_slot_peek_binary_changes` returns them: one message per row, in commit order.
//! Layouts follow the PostgreSQL manual, "Logical Replication Message Formats".

use std::fmt;

/// A WAL position (`pg_lsn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's text form, `16/B374D848`.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u32::from_str_radix(hi, 16).ok()?;
        let lo = u32::from_str_radix(lo, 16).ok()?;
        Some(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// One column of a [`Message::Relation`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Part of the replica identity key.
    pub key: bool,
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// A column value in a tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Null,
    /// A TOASTed value the change left unchanged: not sent.
    UnchangedToast,
    /// The value in PostgreSQL's text output format.
    Text(&'a [u8]),
}

/// Which old row an UPDATE or DELETE carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldKind {
    /// Only the replica identity key columns are set (REPLICA IDENTITY DEFAULT or USING INDEX).
    Key,
    /// The whole old row (REPLICA IDENTITY FULL).
    Full,
}

/// A decoded message; tuple values borrow from the message bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    Begin {
        /// The LSN of the transaction's commit record.
        final_lsn: Lsn,
        xid: u32,
    },
    Commit {
        commit_lsn: Lsn,
        /// The end of the commit record: where a slot resumes after this transaction.
        end_lsn: Lsn,
    },
    Relation {
        oid: u32,
        namespace: String,
        name: String,
        replica_identity: u8,
        columns: Vec<RelationColumn>,
    },
    Insert {
        oid: u32,
        new: Vec<Value<'a>>,
    },
    Update {
        oid: u32,
        old: Option<(OldKind, Vec<Value<'a>>)>,
        new: Vec<Value<'a>>,
    },
    Delete {
        oid: u32,
        old: (OldKind, Vec<Value<'a>>),
    },
    Truncate {
        oids: Vec<u32>,
    },
    /// A logical decoding message (`pg_logical_emit_message`), sent with `messages` on.
    Logical {
        transactional: bool,
        /// Where its WAL record starts.
        lsn: Lsn,
        prefix: String,
    },
    /// Origin and Type messages: nothing Weir uses.
    Other(u8),
}

/// A message that does not follow the protocol (a bug in Weir or PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed pgoutput message: {}", self.0)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| {
                DecodeError(format!(
                    "{} byte(s) wanted at offset {} of {}",
                    n,
                    self.pos,
                    self.bytes.len()
                ))
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }
    /// A NUL-terminated string.
    fn cstr(&mut self) -> Result<String, DecodeError> {
        let rest = &self.bytes[self.pos..];
        let len = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| DecodeError("unterminated string".into()))?;
        let s = String::from_utf8_lossy(&rest[..len]).into_owned();
        self.pos += len + 1;
        Ok(s)
    }
    fn tuple(&mut self) -> Result<Vec<Value<'a>>, DecodeError> {
        let n = self.u16()?;
        let mut values = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            values.push(match self.u8()? {
                b'n' => Value::Null,
                b'u' => Value::UnchangedToast,
                b't' => {
                    let len = self.u32()? as usize;
                    Value::Text(self.take(len)?)
                }
                other => {
                    return Err(DecodeError(format!(
                        "tuple value kind '{}' (binary values are not requested)",
                        char::from(other)
                    )))
                }
            });
        }
        Ok(values)
    }
    fn old_tuple(&mut self, marker: u8) -> Result<(OldKind, Vec<Value<'a>>), DecodeError> {
        let kind = match marker {
            b'K' => OldKind::Key,
            b'O' => OldKind::Full,
            other => {
                return Err(DecodeError(format!(
                    "expected 'K' or 'O', found '{}'",
                    char::from(other)
                )))
            }
        };
        Ok((kind, self.tuple()?))
    }
    fn expect(&mut self, wanted: u8) -> Result<(), DecodeError> {
        let found = self.u8()?;
        if found == wanted {
            Ok(())
        } else {
            Err(DecodeError(format!(
                "expected '{}', found '{}'",
                char::from(wanted),
                char::from(found)
            )))
        }
    }
}

/// Decodes one message.
pub fn decode(bytes: &[u8]) -> Result<Message<'_>, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let tag = r.u8()?;
    let message = match tag {
        b'B' => {
            let final_lsn = Lsn(r.u64()?);
            let _commit_time = r.u64()?;
            let xid = r.u32()?;
            Message::Begin { final_lsn, xid }
        }
        b'C' => {
            let _flags = r.u8()?;
            let commit_lsn = Lsn(r.u64()?);
            let end_lsn = Lsn(r.u64()?);
            let _commit_time = r.u64()?;
            Message::Commit {
                commit_lsn,
                end_lsn,
            }
        }
        b'R' => {
            let oid = r.u32()?;
            let namespace = r.cstr()?;
            let name = r.cstr()?;
            let replica_identity = r.u8()?;
            let n = r.u16()?;
            let mut columns = Vec::with_capacity(usize::from(n));
            for _ in 0..n {
                let flags = r.u8()?;
                let name = r.cstr()?;
                let type_oid = r.u32()?;
                let type_modifier = r.u32()? as i32;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name,
                    type_oid,
                    type_modifier,
                });
            }
            Message::Relation {
                oid,
                namespace,
                name,
                replica_identity,
                columns,
            }
        }
        b'I' => {
            let oid = r.u32()?;
            r.expect(b'N')?;
            Message::Insert {
                oid,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let oid = r.u32()?;
            let marker = r.u8()?;
            let (old, marker) = if marker == b'N' {
                (None, marker)
            } else {
                let old = r.old_tuple(marker)?;
                (Some(old), r.u8()?)
            };
            if marker != b'N' {
                return Err(DecodeError(format!(
                    "expected 'N', found '{}'",
                    char::from(marker)
                )));
            }
            Message::Update {
                oid,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let oid = r.u32()?;
            let marker = r.u8()?;
            Message::Delete {
                oid,
                old: r.old_tuple(marker)?,
            }
        }
        b'T' => {
            let n = r.u32()?;
            let _options = r.u8()?;
            let oids = (0..n).map(|_| r.u32()).collect::<Result<Vec<_>, _>>()?;
            Message::Truncate { oids }
        }
        b'M' => {
            let transactional = r.u8()? & 1 == 1;
            let lsn = Lsn(r.u64()?);
            let prefix = r.cstr()?;
            let len = r.u32()? as usize;
            r.take(len)?;
            Message::Logical {
                transactional,
                lsn,
                prefix,
            }
        }
        other => Message::Other(other),
    };
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Messages as PostgreSQL 15 returned them for
    // `CREATE TABLE exp1 (id int primary key, v text); INSERT INTO exp1 VALUES (2, 'b');`
    // (from `pg_logical_slot_peek_binary_changes`, shown by psql in hex).

    #[test]
    fn begin_relation_insert_commit_from_a_real_server() {
        let begin = hex("420000000001951f78000303d39f5e8e80000002e0");
        assert_eq!(
            decode(&begin).unwrap(),
            Message::Begin {
                final_lsn: Lsn::parse("0/1951F78").unwrap(),
                xid: 0x2e0
            }
        );
        let relation = hex(
            "520000400a7075626c69630065787031006400020169640000000017ffffffff00760000000019ffffffff",
        );
        let Message::Relation {
            oid,
            namespace,
            name,
            replica_identity,
            columns,
        } = decode(&relation).unwrap()
        else {
            panic!()
        };
        assert_eq!(
            (oid, namespace.as_str(), name.as_str(), replica_identity),
            (0x400a, "public", "exp1", b'd')
        );
        assert_eq!(
            columns,
            vec![
                RelationColumn {
                    key: true,
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1
                },
                RelationColumn {
                    key: false,
                    name: "v".into(),
                    type_oid: 25,
                    type_modifier: -1
                },
            ]
        );
        let insert = hex("490000400a4e0002740000000132740000000162");
        assert_eq!(
            decode(&insert).unwrap(),
            Message::Insert {
                oid: 0x400a,
                new: vec![Value::Text(b"2"), Value::Text(b"b")]
            }
        );
        let commit = hex("43000000000001951f780000000001951fa8000303d39f5e8e80");
        assert_eq!(
            decode(&commit).unwrap(),
            Message::Commit {
                commit_lsn: Lsn::parse("0/1951F78").unwrap(),
                end_lsn: Lsn::parse("0/1951FA8").unwrap()
            }
        );
    }

    /// A tuple of `n` values: null, unchanged TOAST, text.
    fn tuple(values: &[Option<&str>], unchanged: usize) -> Vec<u8> {
        let mut out = (values.len() as u16).to_be_bytes().to_vec();
        for (i, v) in values.iter().enumerate() {
            match v {
                _ if i == unchanged => out.push(b'u'),
                None => out.push(b'n'),
                Some(t) => {
                    out.push(b't');
                    out.extend((t.len() as u32).to_be_bytes());
                    out.extend(t.as_bytes());
                }
            }
        }
        out
    }

    #[test]
    fn update_and_delete_with_old_rows() {
        let mut update = vec![b'U', 0, 0, 0, 7, b'O'];
        update.extend(tuple(&[Some("1"), Some("old")], usize::MAX));
        update.push(b'N');
        update.extend(tuple(&[Some("1"), None], 1));
        assert_eq!(
            decode(&update).unwrap(),
            Message::Update {
                oid: 7,
                old: Some((OldKind::Full, vec![Value::Text(b"1"), Value::Text(b"old")])),
                new: vec![Value::Text(b"1"), Value::UnchangedToast],
            }
        );
        let mut plain = vec![b'U', 0, 0, 0, 7, b'N'];
        plain.extend(tuple(&[Some("é'\"")], usize::MAX));
        assert_eq!(
            decode(&plain).unwrap(),
            Message::Update {
                oid: 7,
                old: None,
                new: vec![Value::Text("é'\"".as_bytes())],
            }
        );
        let mut delete = vec![b'D', 0, 0, 0, 7, b'K'];
        delete.extend(tuple(&[Some("1"), None], usize::MAX));
        assert_eq!(
            decode(&delete).unwrap(),
            Message::Delete {
                oid: 7,
                old: (OldKind::Key, vec![Value::Text(b"1"), Value::Null]),
            }
        );
        let mut message = vec![b'M', 0];
        message.extend(0x0123_u64.to_be_bytes());
        message.extend(b"weir-heartbeat\0");
        message.extend(2u32.to_be_bytes());
        message.extend(b"hi");
        assert_eq!(
            decode(&message).unwrap(),
            Message::Logical {
                transactional: false,
                lsn: Lsn(0x0123),
                prefix: "weir-heartbeat".into()
            }
        );
        let truncate = [b'T', 0, 0, 0, 2, 0, 0, 0, 0, 7, 0, 0, 0, 9];
        assert_eq!(
            decode(&truncate).unwrap(),
            Message::Truncate { oids: vec![7, 9] }
        );
    }

    #[test]
    fn truncated_messages_are_errors_not_panics() {
        let insert = hex("490000400a4e0002740000000132740000000162");
        for len in 0..insert.len() {
            assert!(decode(&insert[..len]).is_err(), "prefix of {len} bytes");
        }
        let mut bad = vec![b'D', 0, 0, 0, 7, b'X'];
        bad.extend(tuple(&[Some("1")], usize::MAX));
        assert!(decode(&bad).unwrap_err().0.contains("expected 'K' or 'O'"));
    }

    #[test]
    fn lsn_text_round_trips() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(lsn.0, (0x16 << 32) | 0xB374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!(Lsn::parse("nope").is_none());
        assert!(Lsn::parse("0/1") < Lsn::parse("1/0"));
    }
}
