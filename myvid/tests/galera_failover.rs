//! MyVid's roles as separate processes on a real 3-node MariaDB Galera cluster
//! (`tools/galera-harness`): two `myvid api` processes preferring different nodes and a
//! `myvid endpoint` taking the uploads.
//!
//! - `kill -9` of a database node under ≥ 20 s of bounded load (sign-ups, uploads,
//!   publishes, searches from several clients) fails no client request; every
//!   acknowledged write is on every node afterwards; the node rejoins and catches up.
//! - conflicting concurrent writes through both API processes resolve cleanly.
//! - without quorum, writes and reads answer 503 `metadata_unavailable` within the
//!   request timeout and write nothing; service resumes by itself with quorum.
//!
//! The two tests take turns (a lock), so that one's load never skews the other's timing.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use myvid_galera_harness::Cluster;
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use support::role::{Role, post};
use support::{media, read};
use tokio::sync::Mutex;

static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long the load runs, and when (from its start) the database node is killed.
const LOAD_FOR: Duration = Duration::from_secs(22);
const KILL_AT: Duration = Duration::from_secs(6);

/// The environment of a role on `database`, preferring the nodes in `order`.
fn role_env(db: &Cluster, database: &str, order: [usize; 3], timeouts: (u64, u64)) -> Vec<(String, String)> {
    let nodes: Vec<String> = order.iter().map(|&i| format!("\"{}\"", db.addr(i))).collect();
    vec![
        ("MYVID_METADATA__BACKEND".into(), "mariadb".into()),
        ("MYVID_METADATA__NODES".into(), format!("[{}]", nodes.join(", "))),
        ("MYVID_METADATA__USER".into(), db.user().into()),
        ("MYVID_METADATA__PASSWORD".into(), db.password().into()),
        ("MYVID_METADATA__DATABASE".into(), database.into()),
        ("MYVID_METADATA__QUERY_TIMEOUT_MS".into(), timeouts.0.to_string()),
        ("MYVID_METADATA__REQUEST_TIMEOUT_MS".into(), timeouts.1.to_string()),
        ("MYVID_LIMITS__ENABLED".into(), "false".into()),
        ("MYVID_LIVE__SFU_SECRET".into(), "sfu-secret-shared-by-the-roles-0123456789".into()),
        ("MYVID_LIVE__STREAM_SECRET".into(), "stream-secret-shared-by-the-roles-0123456789".into()),
        ("MYVID_TURN__SECRET".into(), "turn-secret-shared-by-the-roles-0123456789".into()),
    ]
}

fn start(role: &str, data: &std::path::Path, env: &[(String, String)]) -> Role {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Role::start(role, data, &env)
}

/// One client request's outcome.
struct Outcome {
    started: Instant,
    took: Duration,
    what: &'static str,
    failure: Option<String>,
}

/// What the load acknowledged, and every request's outcome.
#[derive(Default)]
struct Ledger {
    outcomes: Vec<Outcome>,
    users: Vec<String>,
    videos: Vec<String>,
}

type Shared = Arc<std::sync::Mutex<Ledger>>;

/// Sends one request, records its outcome; the answer's JSON when it had `expect`.
async fn send(
    ledger: &Shared,
    what: &'static str,
    expect: StatusCode,
    request: reqwest::RequestBuilder,
) -> Option<Value> {
    let started = Instant::now();
    let result = request.timeout(Duration::from_secs(60)).send().await;
    let (failure, body) = match result {
        Ok(res) if res.status() == expect => (None, res.json::<Value>().await.ok()),
        Ok(res) => (Some(format!("{} {}", res.status(), res.text().await.unwrap_or_default())), None),
        Err(e) => (Some(format!("transport: {e}")), None),
    };
    let failed = failure.is_some();
    ledger.lock().unwrap().outcomes.push(Outcome { started, took: started.elapsed(), what, failure });
    if failed { None } else { body.or(Some(Value::Null)) }
}

/// Signs up a new account through `api`, recording it when acknowledged.
async fn sign_up(http: &Client, ledger: &Shared, api: &str, name: &str) -> Option<String> {
    let body =
        json!({"username": name, "email": format!("{name}@example.org"), "password": format!("password-{name}")});
    let answer =
        send(ledger, "sign-up", StatusCode::CREATED, http.post(format!("{api}/v1/auth/signup")).json(&body)).await?;
    ledger.lock().unwrap().users.push(name.to_owned());
    answer["token"].as_str().map(str::to_owned)
}

/// Uploads a video through the endpoint and publishes it through `api`.
async fn upload_and_publish(http: &Client, ledger: &Shared, endpoint: &str, api: &str, token: &str, title: &str) {
    let body =
        json!({"title": title, "description": "galera load", "preview_filename": "p.png", "video_filename": "v.webm"});
    let Some(grant) = send(
        ledger,
        "upload grant",
        StatusCode::OK,
        http.post(format!("{endpoint}/NEWVIDEOUPLOAD")).bearer_auth(token).json(&body),
    )
    .await
    else {
        return;
    };
    for (field, file) in [("preview_upload_url", &media().preview), ("video_upload_url", &media().clip)] {
        let url = grant[field].as_str().unwrap_or_default();
        if send(ledger, "upload", StatusCode::OK, http.put(url).body(read(file))).await.is_none() {
            return;
        }
    }
    let id = grant["id"].as_str().unwrap_or_default().to_owned();
    let publish = http.post(format!("{api}/API/PUBLISH/{id}")).bearer_auth(token).json(&json!({}));
    if send(ledger, "publish", StatusCode::OK, publish).await.is_some() {
        ledger.lock().unwrap().videos.push(id);
    }
}

/// Counts rows of `table` whose `column` is in `values`, on `node`, after catching up.
fn count_on(db: &Cluster, node: usize, database: &str, table: &str, column: &str, values: &[String]) -> usize {
    if values.is_empty() {
        return 0;
    }
    let list: Vec<String> = values.iter().map(|v| format!("'{v}'")).collect();
    let sql =
        format!("SET SESSION wsrep_sync_wait = 1; SELECT COUNT(*) FROM {table} WHERE {column} IN ({})", list.join(","));
    db.sql(node, Some(database), &sql).unwrap_or_else(|e| panic!("count on node {node}: {e}")).trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_database_node_under_load_fails_no_request_and_loses_no_write() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().await;
    let db = Cluster::galera();
    let database = db.create_database("site");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let endpoint = start("endpoint", &data, &role_env(&db, &database, [2, 0, 1], (5_000, 20_000)));
    let api_a = start("api", &data, &role_env(&db, &database, [0, 1, 2], (5_000, 20_000)));
    let api_b = start("api", &data, &role_env(&db, &database, [1, 2, 0], (5_000, 20_000)));
    let apis = [api_a.url.clone(), api_b.url.clone()];
    let http = Client::new();
    let ledger: Shared = Arc::default();

    let uploader = sign_up(&http, &ledger, &apis[0], "uploader").await.expect("the uploader signs up");
    let began = Instant::now();
    let mut clients = Vec::new();
    for client in 0..6usize {
        let (http, ledger, apis, endpoint, token) =
            (http.clone(), ledger.clone(), apis.clone(), endpoint.url.clone(), uploader.clone());
        clients.push(tokio::spawn(async move {
            let mut round = 0usize;
            while began.elapsed() < LOAD_FOR {
                let api = &apis[(client + round) % 2];
                match client % 3 {
                    0 => drop(sign_up(&http, &ledger, api, &format!("load{client}x{round}")).await),
                    1 => {
                        upload_and_publish(
                            &http,
                            &ledger,
                            &endpoint,
                            api,
                            &token,
                            &format!("Galera clip {client} {round}"),
                        )
                        .await
                    }
                    _ => {
                        let search = http.get(format!("{api}/v1/videos?q=galera+clip&limit=5"));
                        send(&ledger, "search", StatusCode::OK, search).await;
                        send(&ledger, "list", StatusCode::OK, http.get(format!("{api}/v1/videos?limit=5"))).await;
                    }
                }
                round += 1;
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    tokio::time::sleep(KILL_AT).await;
    let killed_at = Instant::now();
    db.kill(0); // the node api A (and the uploader's session) prefers
    for client in clients {
        client.await.unwrap();
    }
    let load_took = began.elapsed();

    // The dead node comes back and catches up by IST.
    let rejoin = Instant::now();
    db.restart(0);
    db.wait_cluster_size(0, 3, Duration::from_secs(60)).expect("node 0 rejoins");
    let rejoined_in = rejoin.elapsed();
    let ist = std::fs::read_to_string(db.base_dir().join("node1/error.log")).unwrap_or_default();
    assert!(ist.contains("IST received"), "node 0 caught up by incremental state transfer");

    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    let failures: Vec<String> = ledger
        .outcomes
        .iter()
        .filter_map(|o| o.failure.as_ref().map(|f| format!("{} after {:?}: {f}", o.what, o.started - began)))
        .collect();
    let longest = ledger.outcomes.iter().map(|o| o.took).max().unwrap_or_default();
    // Failover: from the kill until the first write (a sign-up) started after it was
    // acknowledged.
    let failover = ledger
        .outcomes
        .iter()
        .filter(|o| o.what == "sign-up" && o.started >= killed_at && o.failure.is_none())
        .map(|o| o.started + o.took - killed_at)
        .min()
        .unwrap_or_default();
    println!(
        "galera load: {} requests in {load_took:?} from 6 clients ({} sign-ups, {} publishes acknowledged), \
         {} failed; longest stall {longest:?}; failover {failover:?}; node rejoined (IST) in {rejoined_in:?}",
        ledger.outcomes.len(),
        ledger.users.len(),
        ledger.videos.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "no client request may fail: {failures:#?}");
    assert!(ledger.users.len() > 10 && ledger.videos.len() > 3, "the load did real work");
    for node in 0..3 {
        assert_eq!(
            count_on(&db, node, &database, "users", "username", &ledger.users),
            ledger.users.len(),
            "users on node {node}"
        );
        let published = count_on(&db, node, &database, "videos", "id", &ledger.videos);
        assert_eq!(published, ledger.videos.len(), "published videos on node {node}");
    }

    conflicting_writes_through_two_api_processes_resolve_cleanly(&http, &endpoint.url, &apis).await;
    drop((endpoint, api_a, api_b));
}

/// The same account signed up, and the same upload published, through both API
/// processes at once (on different nodes): one wins, the other gets a clean 4xx.
async fn conflicting_writes_through_two_api_processes_resolve_cleanly(
    http: &Client,
    endpoint: &str,
    apis: &[String; 2],
) {
    for round in 0..10 {
        let body = json!({"username": format!("twin{round}"), "email": format!("twin{round}@example.org"), "password": "password-twin"});
        let [a, b] = [0, 1].map(|i| http.post(format!("{}/v1/auth/signup", apis[i])).json(&body).send());
        let (a, b) = tokio::join!(a, b);
        let mut statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "one sign-up wins, the other is a conflict (round {round})");
    }
    let ledger: Shared = Arc::default();
    let token = sign_up(http, &ledger, &apis[1], "racer").await.unwrap();
    for round in 0..4 {
        let body = json!({"title": format!("Race {round}"), "description": "", "preview_filename": "p.png", "video_filename": "v.webm"});
        let grant: Value = http
            .post(format!("{endpoint}/NEWVIDEOUPLOAD"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (field, file) in [("preview_upload_url", &media().preview), ("video_upload_url", &media().clip)] {
            let res = http.put(grant[field].as_str().unwrap()).body(read(file)).send().await.unwrap();
            assert_eq!(res.status(), 200);
        }
        let id = grant["id"].as_str().unwrap();
        let [a, b] = [0, 1].map(|i| post(http, format!("{}/API/PUBLISH/{id}", apis[i]), Some(&token), json!({})));
        let (a, b) = tokio::join!(a, b);
        // Publishing is idempotent: the second answer is the first one's result, or a
        // clean refusal if the first already removed the staged files.
        let mut published = Vec::new();
        for res in [a, b] {
            let status = res.status().as_u16();
            assert!(status == 200 || status == 409, "publishing twice at once: {status} {}", res.text().await.unwrap());
            if status == 200 {
                published.push(media_path(&res.json::<Value>().await.unwrap()));
            }
        }
        let video: Value = http.get(format!("{}/API/VIDEO/{id}", apis[0])).send().await.unwrap().json().await.unwrap();
        let stored = media_path(&video);
        assert!(!published.is_empty(), "one publication wins");
        assert!(
            published.iter().all(|p| *p == stored),
            "every success names the one stored media: {published:?} vs {stored}"
        );
        let played = http.get(video["url"].as_str().unwrap()).send().await.unwrap();
        assert_eq!(played.status(), 200, "the winner's media is what plays");
    }
}

/// The object a video answer's media URL names (each API signs URLs for its own host).
fn media_path(video: &Value) -> String {
    let url = video["url"].as_str().unwrap_or_default();
    let path = url.split('?').next().unwrap_or_default();
    path.split_once("/objects/").map_or(path, |(_, object)| object).to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_quorum_requests_answer_503_and_service_resumes_by_itself() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().await;
    let db = Cluster::galera();
    let database = db.create_database("quorum");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (query_ms, request_ms) = (2_000, 6_000);
    let api = start("api", &data, &role_env(&db, &database, [0, 1, 2], (query_ms, request_ms)));
    let http = Client::new();
    let signup = |name: &str| {
        let body = json!({"username": name, "email": format!("{name}@example.org"), "password": "password-quorum"});
        http.post(format!("{}/v1/auth/signup", api.url)).json(&body).send()
    };
    assert_eq!(signup("before").await.unwrap().status(), 201);

    db.kill(1);
    db.kill(2);
    let limit = Duration::from_millis(request_ms) + Duration::from_secs(2);
    for (what, request) in [
        ("a sign-up", signup("during")),
        ("a search", http.get(format!("{}/v1/videos?q=anything", api.url)).send()),
        ("a sign-up", signup("during")),
    ] {
        let asked = Instant::now();
        let res = request.await.unwrap();
        let took = asked.elapsed();
        assert_eq!(res.status(), 503, "{what} without quorum");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "metadata_unavailable", "{body}");
        assert!(took <= limit, "{what} answered in {took:?}, over the {limit:?} limit");
        println!("without quorum: {what} answered 503 metadata_unavailable in {took:?}");
    }

    // Quorum returns: the same API process serves again, with nothing half-written.
    let back = Instant::now();
    // Together: each waits to be Synced, which needs the other one back too.
    std::thread::scope(|threads| {
        threads.spawn(|| db.restart(1));
        threads.spawn(|| db.restart(2));
    });
    let mut resumed = None;
    while back.elapsed() < Duration::from_secs(60) {
        if signup("after").await.unwrap().status() == 201 {
            resumed = Some(back.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resumed = resumed.expect("service resumes by itself once quorum is back");
    println!("quorum back: writes work again {resumed:?} after the nodes were restarted");
    for node in 0..3 {
        let during = count_on(&db, node, &database, "users", "username", &["during".to_owned()]);
        assert_eq!(during, 0, "the refused sign-up left nothing on node {node}");
    }
    assert_eq!(signup("during").await.unwrap().status(), 201, "the refused name is free");
    drop(api);
}
