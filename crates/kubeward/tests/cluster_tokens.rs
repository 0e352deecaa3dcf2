//! `kubeward token create` (issue #16) on a single server: a bootstrap token Secret as
//! kubeadm writes it, authenticating as `system:bootstrap:<id>`, deleted by the token
//! cleaner once it expires; `--print-join-command` signs cluster-info, which a stranger may
//! read (kubeadm's discovery), and uploads the keys only the token's holders may read.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{kubectl_or_missing, Server};

fn kubeward(server: &Server, args: &[&str]) -> support::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kubeward"));
    cmd.args(args).arg("--data-dir").arg(server.data_dir());
    support::run(cmd, Duration::from_secs(60))
}

#[test]
fn tokens_sign_cluster_info_and_expire() {
    let server = Server::start();
    let Some(admin) = kubectl_or_missing(&server, "1.33") else { return };

    let out = kubeward(&server, &["token", "create", "--print-join-command"]);
    out.assert_ok();
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    let after = |flag: &str| words.iter().position(|w| *w == flag).and_then(|i| words.get(i + 1)).copied();
    let token = after("--token").expect("a token");
    let (id, _) = token.split_once('.').expect("id.secret");
    assert_eq!(after("join"), Some(server.url.as_str()), "{out}");
    let hash = after("--discovery-token-ca-cert-hash").expect("a hash");
    let ca = std::fs::read_to_string(server.pki_dir().join("ca.crt")).expect("ca");
    assert_eq!(hash, pki::join::ca_cert_hash(&ca).expect("hash"), "the CA pin is over the cluster CA");

    // cluster-info: readable without credentials, signed for the token.
    let info = support::run(
        {
            let mut c = Command::new("curl");
            c.args(["-sk", &format!("{}/api/v1/namespaces/kube-public/configmaps/cluster-info", server.url)]);
            c
        },
        Duration::from_secs(30),
    );
    info.assert_ok().assert_stdout_contains(&format!("jws-kubeconfig-{id}"));
    // The token authenticates as kubeadm's bootstrap user, who may read the uploaded keys only.
    let as_token = server.token_kubeconfig("bootstrapper", token);
    let k = server.kubectl_as("1.33", "bootstrapper", &as_token).expect("kubectl");
    k.ok(&["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
        .assert_stdout_contains(&format!("system:bootstrap:{id}"));
    k.ok(&["get", "secret", "kubeward-certs", "-n", "kube-system"]);
    k.run(&["get", "secrets", "-n", "kube-system"]).assert_code(1).assert_stderr_contains("forbidden");

    // A token past its expiration is deleted by the token cleaner.
    let short = kubeward(&server, &["token", "create", "--ttl", "2s"]);
    short.assert_ok();
    let short_id = short.stdout.trim().split('.').next().expect("id").to_string();
    let name = format!("bootstrap-token-{short_id}");
    admin.ok(&["get", "secret", &name, "-n", "kube-system"]);
    let gone = support::eventually(Duration::from_secs(30), || {
        let out = admin.run(&["get", "secret", &name, "-n", "kube-system"]);
        (!out.ok() && out.stderr.contains("NotFound")).then_some(())
    });
    assert!(gone.is_some(), "the expired token {name} was not cleaned up");
    admin.ok(&["get", "secret", &format!("bootstrap-token-{id}"), "-n", "kube-system"]);
}
