//! Crash safety under load: the real binary on the embedded store, four clients creating,
//! updating and deleting ConfigMaps concurrently, `kill -9` at a random moment, a restart on
//! the same data directory, and then every acknowledged write must be there and no object
//! half-written. Many rounds; redb's own crash tests are the model (a loop of real kills).
//!
//! The model: each client owns its names, so the history of a name is one client's sequence
//! of acknowledged writes, plus at most one write in flight when the server died (its
//! outcome unknown: before or after are both right). After each restart:
//! - a name whose last acknowledged write is a create or update holds exactly that value at
//!   exactly that resourceVersion (or, when a write was in flight, that write's value);
//! - a name acknowledged deleted, or never created, is absent (or holds the in-flight write);
//! - every object the clients wrote (labelled `crash-test=load`) decodes, checks itself (its padding is derived from its
//!   value and length) and reads the same through GET and LIST;
//! - the list's resourceVersion is at least the newest acknowledged one.
//!
//! The observed state then becomes the model of the next round.
//!
//! `KUBEWARD_CRASH_ROUNDS` (default 20) and `KUBEWARD_CRASH_SEED` (printed) repeat or lengthen
//! a run. Every loop is bounded: requests time out after 10 s, a round's load after 2000 ops.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Server;

const NAMESPACE: &str = "crash";
const CLIENTS: usize = 4;
const NAMES_PER_CLIENT: usize = 6;
const MAX_OPS_PER_ROUND: usize = 2000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// splitmix64, seeded from the environment or the clock.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What a name holds.
#[derive(Clone, Debug, PartialEq)]
enum State {
    Absent,
    /// `rv` 0: not known (a write whose answer never came).
    Present {
        value: u64,
        rv: u64,
    },
}

/// A name's model: its acknowledged state, and the outcome of a write in flight at the kill.
#[derive(Clone, Debug)]
struct Slot {
    acked: State,
    in_flight: Option<State>,
}

type Model = BTreeMap<String, Slot>;

/// The padding of a value: a few bytes to a few KiB, so batches span pages; derived from the
/// value, so a torn object shows.
fn padding(value: u64) -> String {
    let len = (value.wrapping_mul(2_654_435_761) % 6000) as usize;
    let unit = format!("{value:x}-");
    unit.repeat(len / unit.len() + 1)[..len].to_string()
}

fn configmap(name: &str, value: u64, rv: Option<u64>) -> Vec<u8> {
    let mut meta = json!({"name": name, "namespace": NAMESPACE, "labels": {"crash-test": "load"}});
    if let Some(rv) = rv {
        meta["resourceVersion"] = json!(rv.to_string());
    }
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                      "data": {"value": value.to_string(), "pad": padding(value)}});
    serde_json::to_vec(&body).expect("a ConfigMap serializes")
}

/// A stored object's state, checked for tearing (its padding against its value).
fn observed(obj: &Value) -> Result<(String, State), String> {
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).ok_or("no name")?;
    let rv = obj
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| format!("{name}: no resourceVersion"))?;
    let value = obj
        .pointer("/data/value")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| format!("{name}: no value: {obj}"))?;
    let pad = obj.pointer("/data/pad").and_then(Value::as_str).unwrap_or("<none>");
    if pad != padding(value) {
        return Err(format!(
            "{name}: half-written: padding of {} bytes does not match value {value}",
            pad.len()
        ));
    }
    Ok((name.to_string(), State::Present { value, rv }))
}

fn request(method: &str, path: &str, body: Vec<u8>) -> http::Request<Vec<u8>> {
    http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(body)
        .expect("a request builds")
}

/// The answer to one request: a JSON body, an error status the server sent, or no answer.
enum Answer {
    Ok(Value),
    Status(u16, String),
    Lost(String),
}

async fn call(client: &kube::Client, req: http::Request<Vec<u8>>) -> Answer {
    match tokio::time::timeout(REQUEST_TIMEOUT, client.request_text(req)).await {
        Err(_) => Answer::Lost("timed out".into()),
        Ok(Ok(text)) => match serde_json::from_str(&text) {
            Ok(v) => Answer::Ok(v),
            Err(e) => Answer::Lost(format!("undecodable answer: {e}")),
        },
        Ok(Err(kube::Error::Api(status))) => Answer::Status(status.code, status.message.clone()),
        Ok(Err(e)) => Answer::Lost(e.to_string()),
    }
}

fn rv_of(v: &Value) -> u64 {
    v.pointer("/metadata/resourceVersion").and_then(Value::as_str).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// One client's load: writes its names until the server stops answering or `stop` is set.
/// Every answered write updates the model; the first unanswered one is recorded as in flight.
async fn client_load(
    client: kube::Client,
    mut rng: Rng,
    names: Vec<String>,
    model: Arc<Mutex<Model>>,
    next_value: Arc<std::sync::atomic::AtomicU64>,
    stop: Arc<AtomicBool>,
) -> Result<usize, String> {
    let base = format!("/api/v1/namespaces/{NAMESPACE}/configmaps");
    let mut ops = 0;
    while !stop.load(Ordering::SeqCst) && ops < MAX_OPS_PER_ROUND {
        let name = names[rng.below(names.len() as u64) as usize].clone();
        let current =
            model.lock().expect("model lock").get(&name).map(|s| s.acked.clone()).unwrap_or(State::Absent);
        let value = next_value.fetch_add(1, Ordering::SeqCst);
        let (req, outcome) = match current {
            State::Absent => {
                (request("POST", &base, configmap(&name, value, None)), State::Present { value, rv: 0 })
            }
            State::Present { rv, .. } if rng.below(3) > 0 => (
                request("PUT", &format!("{base}/{name}"), configmap(&name, value, Some(rv))),
                State::Present { value, rv: 0 },
            ),
            State::Present { .. } => {
                (request("DELETE", &format!("{base}/{name}"), Vec::new()), State::Absent)
            }
        };
        let method = req.method().to_string();
        ops += 1;
        match call(&client, req).await {
            Answer::Ok(v) => {
                let acked = match outcome {
                    State::Absent => State::Absent,
                    State::Present { value, .. } => State::Present { value, rv: rv_of(&v) },
                };
                model.lock().expect("model lock").insert(name, Slot { acked, in_flight: None });
            }
            Answer::Status(code, message) => {
                // The server answered: the write was refused, the model says it cannot be.
                return Err(format!("{method} {name}: {code} {message}"));
            }
            Answer::Lost(_) => {
                if let Some(slot) = model.lock().expect("model lock").get_mut(&name) {
                    slot.in_flight = Some(outcome);
                }
                return Ok(ops);
            }
        }
    }
    Ok(ops)
}

/// Reads the namespace back and checks it against the model; returns the observed state.
async fn check(client: &kube::Client, model: &Model, max_acked_rv: u64) -> Result<Model, Vec<String>> {
    let mut errors = Vec::new();
    let list = match call(
        client,
        request(
            "GET",
            &format!("/api/v1/namespaces/{NAMESPACE}/configmaps?labelSelector=crash-test%3Dload"),
            Vec::new(),
        ),
    )
    .await
    {
        Answer::Ok(v) => v,
        Answer::Status(code, m) => return Err(vec![format!("LIST after restart: {code} {m}")]),
        Answer::Lost(e) => return Err(vec![format!("LIST after restart: {e}")]),
    };
    if rv_of(&list) < max_acked_rv {
        errors.push(format!(
            "list resourceVersion {} is older than the acknowledged {max_acked_rv}",
            rv_of(&list)
        ));
    }
    let mut seen: BTreeMap<String, State> = BTreeMap::new();
    for item in list.get("items").and_then(Value::as_array).into_iter().flatten() {
        match observed(item) {
            Ok((name, state)) if model.contains_key(&name) => {
                seen.insert(name, state);
            }
            Ok((name, _)) => errors.push(format!("{name}: an object no client wrote")),
            Err(e) => errors.push(e),
        }
    }
    for (name, slot) in model {
        let actual = seen.get(name).cloned().unwrap_or(State::Absent);
        // GET agrees with LIST.
        let path = format!("/api/v1/namespaces/{NAMESPACE}/configmaps/{name}");
        let got = match call(client, request("GET", &path, Vec::new())).await {
            Answer::Ok(v) => observed(&v).map(|(_, s)| s),
            Answer::Status(404, _) => Ok(State::Absent),
            Answer::Status(code, m) => Err(format!("GET {name}: {code} {m}")),
            Answer::Lost(e) => Err(format!("GET {name}: {e}")),
        };
        match got {
            Ok(g) if g == actual => {}
            Ok(g) => errors.push(format!("{name}: GET says {g:?}, LIST says {actual:?}")),
            Err(e) => errors.push(e),
        }
        let fits = |expected: &State| match (expected, &actual) {
            (State::Absent, State::Absent) => true,
            (State::Present { value, rv }, State::Present { value: v2, rv: r2 }) => {
                value == v2 && (*rv == 0 || rv == r2)
            }
            _ => false,
        };
        if !fits(&slot.acked) && !slot.in_flight.as_ref().is_some_and(fits) {
            errors.push(format!(
                "{name}: acknowledged {:?} (in flight: {:?}), found {actual:?}",
                slot.acked, slot.in_flight
            ));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(model
        .keys()
        .map(|name| {
            let acked = seen.get(name).cloned().unwrap_or(State::Absent);
            (name.clone(), Slot { acked, in_flight: None })
        })
        .collect())
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.parse().ok())
}

#[test]
fn acknowledged_writes_survive_kill_9_under_load() {
    let rounds = env_u64("KUBEWARD_CRASH_ROUNDS").unwrap_or(20);
    let seed = env_u64("KUBEWARD_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    println!("crash safety: {rounds} rounds, seed {seed} (KUBEWARD_CRASH_SEED={seed} repeats it)");
    let mut rng = Rng(seed);
    let mut server = Server::start();
    let names: Vec<Vec<String>> =
        (0..CLIENTS).map(|c| (0..NAMES_PER_CLIENT).map(|i| format!("c{c}-{i}")).collect()).collect();
    let mut model: Model =
        names.iter().flatten().map(|n| (n.clone(), Slot { acked: State::Absent, in_flight: None })).collect();
    let next_value = Arc::new(std::sync::atomic::AtomicU64::new(1));
    let started = Instant::now();
    let mut total_ops = 0;
    // Writes in flight at a kill, and how many of them the restarted server had kept.
    let (mut in_flight, mut in_flight_kept) = (0, 0);
    support::block_on(async {
        let client = support::kube_client(&server).await;
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
        match call(&client, request("POST", "/api/v1/namespaces", serde_json::to_vec(&ns).expect("json")))
            .await
        {
            Answer::Ok(_) => {}
            Answer::Status(c, m) => panic!("creating the namespace: {c} {m}"),
            Answer::Lost(e) => panic!("creating the namespace: {e}"),
        }
        for round in 0..rounds {
            let client = support::kube_client(&server).await;
            let shared = Arc::new(Mutex::new(model.clone()));
            let stop = Arc::new(AtomicBool::new(false));
            let tasks: Vec<_> = names
                .iter()
                .enumerate()
                .map(|(c, names)| {
                    let client_rng = Rng(rng.next() ^ c as u64);
                    tokio::spawn(client_load(
                        client.clone(),
                        client_rng,
                        names.clone(),
                        shared.clone(),
                        next_value.clone(),
                        stop.clone(),
                    ))
                })
                .collect();
            // Kill at a random moment of the load: at once, mid-batch, or after many writes.
            let delay = Duration::from_millis(rng.below(700));
            tokio::time::sleep(delay).await;
            server.kill_hard();
            stop.store(true, Ordering::SeqCst);
            for t in tasks {
                match t.await.expect("client task") {
                    Ok(ops) => total_ops += ops,
                    Err(e) => panic!("round {round} (seed {seed}): the live server refused a write: {e}"),
                }
            }
            let before = shared.lock().expect("model lock").clone();
            let max_acked_rv = before
                .values()
                .filter_map(|s| match s.acked {
                    State::Present { rv, .. } => Some(rv),
                    State::Absent => None,
                })
                .max()
                .unwrap_or(0);
            server.restart();
            let client = support::kube_client(&server).await;
            match check(&client, &before, max_acked_rv).await {
                Ok(next) => {
                    for (name, slot) in &before {
                        if let Some(outcome) = &slot.in_flight {
                            in_flight += 1;
                            let kept = next.get(name).map(|s| &s.acked);
                            let same = match (outcome, kept) {
                                (State::Absent, Some(State::Absent)) => true,
                                (State::Present { value, .. }, Some(State::Present { value: v, .. })) => value == v,
                                _ => false,
                            };
                            in_flight_kept += usize::from(same && *outcome != slot.acked);
                        }
                    }
                    model = next;
                }
                Err(errors) => panic!(
                    "round {round} (seed {seed}, killed after {delay:?}): {} problem(s) after restart:\n{}\n--- server log ---\n{}",
                    errors.len(),
                    errors.join("\n"),
                    server.stderr_tail(4000)
                ),
            }
        }
    });
    let present = model.values().filter(|s| s.acked != State::Absent).count();
    println!(
        "crash safety: {rounds} kill -9 rounds survived, {total_ops} writes, {in_flight} in flight at a kill \
         ({in_flight_kept} of them kept), {present} objects at the end, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    server.stop();
}
