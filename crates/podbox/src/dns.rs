//! A cluster DNS answerer for one pod: A records from a file of `name address` lines,
//! authoritative NXDOMAIN for other names, as CoreDNS's `kubernetes` plugin answers
//! within `cluster.local` (TTL 5). Names outside the cluster get SERVFAIL: the pod has no
//! way out, as a k3s pod without upstream DNS would see.

use std::net::{Ipv4Addr, UdpSocket};

const TTL: u32 = 5;

fn records(text: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
    let found: Vec<Ipv4Addr> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let (n, a) = (parts.next()?, parts.next()?);
            (n.trim_end_matches('.').eq_ignore_ascii_case(name))
                .then(|| a.parse().ok())
                .flatten()
        })
        .collect();
    (!found.is_empty()).then_some(found)
}

/// Reads the question name; returns it and the offset after the question.
fn question(msg: &[u8]) -> Option<(String, usize, u16)> {
    let mut i = 12;
    let mut labels = Vec::new();
    loop {
        let len = *msg.get(i)? as usize;
        i += 1;
        if len == 0 {
            break;
        }
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(msg.get(i..i + len)?).into_owned());
        i += len;
    }
    let qtype = u16::from_be_bytes([*msg.get(i)?, *msg.get(i + 1)?]);
    Some((labels.join("."), i + 4, qtype))
}

/// Builds the answer to one query from the records (`name address` lines), or `None` for
/// something that is not a query.
pub fn answer(query: &[u8], records_text: &str) -> Option<Vec<u8>> {
    if query.len() < 12 || query[2] & 0x80 != 0 || u16::from_be_bytes([query[4], query[5]]) != 1 {
        return None;
    }
    let (name, end, qtype) = question(query)?;
    let in_cluster = name.to_ascii_lowercase().ends_with("cluster.local");
    let found = records(records_text, &name);
    let mut out = query[..end].to_vec();
    // QR, opcode 0, AA for cluster names, RD copied; RA.
    out[2] = 0x80 | if in_cluster { 0x04 } else { 0 } | (query[2] & 0x01);
    let rcode = match (&found, in_cluster) {
        (Some(_), _) => 0,
        (None, true) => 3,
        (None, false) => 2,
    };
    out[3] = 0x80 | rcode;
    let answers: Vec<Ipv4Addr> = match (&found, qtype) {
        (Some(ips), 1) | (Some(ips), 255) => ips.clone(),
        _ => Vec::new(),
    };
    out[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
    out[8..12].copy_from_slice(&[0, 0, 0, 0]);
    for ip in answers {
        out.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        out.extend_from_slice(&TTL.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    Some(out)
}

/// Answers queries on `socket` from the records file, read again for every query (the
/// kubelet rewrites it in place when Services change). The file was opened before the
/// pod's user was assumed, so where the cluster keeps it does not matter.
pub fn serve(socket: UdpSocket, file: std::fs::File) {
    use std::os::unix::fs::FileExt;
    let mut buf = [0u8; 512];
    let mut text = Vec::new();
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        text.clear();
        let mut chunk = [0u8; 4096];
        while let Ok(got) = file.read_at(&mut chunk, text.len() as u64)
            && got > 0
        {
            text.extend_from_slice(&chunk[..got]);
        }
        if let Some(reply) = answer(&buf[..n], &String::from_utf8_lossy(&text)) {
            let _ = socket.send_to(&reply, from);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        q
    }

    #[test]
    fn answers_from_the_records_file() {
        let f = "kubernetes.default.svc.cluster.local 10.43.0.1\n";
        let a = answer(&query("kubernetes.default.svc.cluster.local", 1), f).unwrap();
        assert_eq!(&a[0..2], &[0x12, 0x34]);
        assert_eq!(a[3] & 0x0f, 0);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(&a[a.len() - 4..], &[10, 43, 0, 1]);
        let nx = answer(&query("nope.default.svc.cluster.local", 1), f).unwrap();
        assert_eq!(nx[3] & 0x0f, 3);
        let aaaa = answer(&query("kubernetes.default.svc.cluster.local", 28), f).unwrap();
        assert_eq!(
            (aaaa[3] & 0x0f, u16::from_be_bytes([aaaa[6], aaaa[7]])),
            (0, 0)
        );
        let outside = answer(&query("example.com", 1), f).unwrap();
        assert_eq!(outside[3] & 0x0f, 2);
        assert!(answer(&[0; 5], f).is_none());
    }
}
