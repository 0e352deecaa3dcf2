//! The failover rows of the durable-writes section: write stalls when the etcd leader's node
//! of a three-member managed-etcd cluster is killed (`failover`), and their aim.

use super::{verdict, Record};
use std::fmt::Write;

pub const AIM: &str = "writes stall <= 2 s at p99 when the etcd leader's node is killed (3 control planes)";

fn runs(r: &[Record]) -> impl Iterator<Item = &Record> {
    r.iter().filter(|x| matches!(x, Record::Failover { .. }))
}

/// The aim's measure and verdict (the last failover record).
pub fn aim(r: &[Record]) -> (String, Option<bool>) {
    match runs(r).last() {
        Some(Record::Failover { stalls_ms, p99_ms, .. }) if !stalls_ms.is_empty() => {
            (format!("p99 {:.0} ms over {} kills", p99_ms, stalls_ms.len()), Some(*p99_ms <= 2000.0))
        }
        _ => ("-".into(), None),
    }
}

/// The table of the failover runs, with the aim.
pub fn section(out: &mut String, r: &[Record]) {
    if runs(r).next().is_none() {
        return;
    }
    let _ = writeln!(
        out,
        "### Failover\n\nThree control planes on a managed etcd on this machine (`up --cluster-init`, two joins), \
         ConfigMap creates from several clients through all three servers (a client whose server fails moves to \
         the next); each round kills (`kill -9`) the etcd leader's node, etcd and kubeward, and measures the \
         longest time without an acknowledged write after the kill; the node then restarts from its data \
         directory and the next round waits until its member is healthy (`failover`).\n"
    );
    let _ = writeln!(
        out,
        "| kills | clients | p50 stall ms | p99 stall ms | max stall ms | writes | failed writes |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    for x in runs(r) {
        if let Record::Failover { clients, stalls_ms, p50_ms, p99_ms, max_ms, writes, errors } = x {
            let _ = writeln!(
                out,
                "| {} | {clients} | {p50_ms:.0} | {p99_ms:.0} | {max_ms:.0} | {writes} | {errors} |",
                stalls_ms.len()
            );
        }
    }
    let (m, p) = aim(r);
    let _ =
        writeln!(out, "\n| aim | measured | verdict |\n|---|---|---|\n| {AIM} | {m} | {} |\n", verdict(p));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p99_ms: f64) -> Record {
        Record::Failover {
            clients: 8,
            stalls_ms: vec![900.0, p99_ms],
            p50_ms: 900.0,
            p99_ms,
            max_ms: p99_ms,
            writes: 1000,
            errors: 3,
        }
    }

    #[test]
    fn the_aim_is_two_seconds_at_p99() {
        assert_eq!(aim(&[]).1, None);
        assert_eq!(aim(&[run(1500.0)]).1, Some(true));
        assert_eq!(aim(&[run(5200.0)]), ("p99 5200 ms over 2 kills".to_string(), Some(false)));
        let mut out = String::new();
        section(&mut out, &[run(1500.0)]);
        assert!(out.contains("| 2 | 8 | 900 | 1500 | 1500 | 1000 | 3 |"), "{out}");
        assert!(out.contains("| pass |"), "{out}");
    }
}
