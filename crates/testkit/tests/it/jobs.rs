//! Background jobs: idempotent enqueuing, back-off until dead, leases that outlive a crashed
//! worker, exclusive claims under concurrent workers, the administrators' list and audited
//! retries. Time is passed in explicitly: nothing here sleeps.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use taizhang_domain::jobs::{Backoff, JobKind, JobState};
use taizhang_store::jobs::{JobFilter, NewJob};
use taizhang_store::Actor;
use taizhang_testkit::{each_backend, post_form, TestApp};
use taizhang_web::jobs::{Worker, WorkerOptions};

each_backend!(
    enqueuing_twice_with_one_dedupe_key_keeps_one_job,
    a_failing_job_backs_off_then_is_given_up,
    a_panicking_handler_fails_its_attempt,
    a_job_whose_lease_expired_is_claimed_again,
    concurrent_workers_run_each_job_once,
    the_nightly_audit_check_runs_end_to_end,
    only_the_system_administrator_sees_jobs,
    retrying_a_dead_job_is_audited,
);

/// A day ahead, to the millisecond (what the store keeps), so the test owns the clock.
fn start() -> DateTime<Utc> {
    let t = Utc::now() + Duration::days(1);
    DateTime::from_timestamp_millis(t.timestamp_millis()).expect("valid instant")
}

fn plain_backoff() -> Backoff {
    Backoff {
        base_secs: 60,
        cap_secs: 3600,
        jitter_permille: 0,
    }
}

fn options() -> WorkerOptions {
    WorkerOptions {
        backoff: plain_backoff(),
        lease: Duration::minutes(5),
        ..WorkerOptions::default()
    }
}

/// A worker whose `audit.verify` handler always fails.
fn failing_worker(app: &TestApp) -> Worker {
    Worker::with_options(app.store.clone(), options()).handle(JobKind::AuditVerify, |_, _| async {
        Err::<Value, String>("对端服务不可用".into())
    })
}

async fn admin(app: &TestApp) -> Actor {
    app.actor("admin").await
}

async fn job_state(app: &TestApp, id: i64) -> taizhang_store::jobs::Job {
    app.store.job(&admin(app).await, id).await.expect("job")
}

async fn enqueuing_twice_with_one_dedupe_key_keeps_one_job(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let new = NewJob::new(JobKind::AuditVerify, t0).dedupe("daily:2026-05-01");
    let (first, added) = app
        .store
        .enqueue_job(&admin, new.clone(), t0)
        .await
        .expect("enqueue");
    assert!(added);
    assert_eq!(first.state, JobState::Queued);
    assert_eq!(first.attempts, 0);
    assert_eq!(
        first.max_attempts,
        JobKind::AuditVerify.default_max_attempts()
    );
    let (again, added) = app
        .store
        .enqueue_job(&admin, new, t0)
        .await
        .expect("enqueue again");
    assert!(!added, "the same logical job is not added twice");
    assert_eq!(again.id, first.id);
    // Without a key every enqueue is a job of its own.
    let (other, added) = app
        .store
        .enqueue_job(&admin, NewJob::new(JobKind::AuditVerify, t0), t0)
        .await
        .expect("enqueue without a key");
    assert!(added && other.id != first.id);
    let page = app
        .store
        .jobs(
            &admin,
            &JobFilter {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(page.total, 2);

    // The nightly scheduler keys its jobs by day: a restart on the same day adds nothing.
    let worker = Worker::with_options(app.store.clone(), options());
    assert_eq!(worker.schedule_recurring(t0).await.expect("schedule"), 1);
    assert_eq!(worker.schedule_recurring(t0).await.expect("again"), 0);
    assert_eq!(
        worker
            .schedule_recurring(t0 + Duration::days(1))
            .await
            .expect("next day"),
        1
    );

    // A key that is not one is refused.
    let bad = NewJob::new(JobKind::AuditVerify, t0).dedupe("");
    assert!(app.store.enqueue_job(&admin, bad, t0).await.is_err());
}

async fn a_failing_job_backs_off_then_is_given_up(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let (job, _) = app
        .store
        .enqueue_job(
            &admin,
            NewJob::new(JobKind::AuditVerify, t0).max_attempts(3),
            t0,
        )
        .await
        .expect("enqueue");
    let worker = failing_worker(&app);

    let r = worker.run_once(t0).await.expect("first attempt");
    assert_eq!((r.failed, r.dead), (1, 0));
    let j = job_state(&app, job.id).await;
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(j.attempts, 1);
    assert_eq!(
        j.run_at,
        t0 + Duration::seconds(60),
        "first back-off: the base"
    );
    assert_eq!(j.last_error.as_deref(), Some("对端服务不可用"));
    assert!(j.locked_until.is_none());

    // Not due before its back-off has passed.
    let r = worker
        .run_once(t0 + Duration::seconds(59))
        .await
        .expect("early");
    assert_eq!(r.ran(), 0);

    let t1 = t0 + Duration::seconds(60);
    let r = worker.run_once(t1).await.expect("second attempt");
    assert_eq!(r.failed, 1);
    let j = job_state(&app, job.id).await;
    assert_eq!(j.attempts, 2);
    assert_eq!(
        j.run_at,
        t1 + Duration::seconds(120),
        "the back-off doubles"
    );

    let t2 = t1 + Duration::seconds(120);
    let r = worker.run_once(t2).await.expect("last attempt");
    assert_eq!(r.dead, 1);
    let j = job_state(&app, job.id).await;
    assert_eq!(j.state, JobState::Dead);
    assert_eq!(j.attempts, 3);
    assert_eq!(j.finished_at, Some(t2));

    // A dead job stays put, however late it gets.
    let r = worker
        .run_once(t2 + Duration::days(30))
        .await
        .expect("later");
    assert_eq!(r.ran(), 0);
}

async fn a_panicking_handler_fails_its_attempt(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let (job, _) = app
        .store
        .enqueue_job(&admin, NewJob::new(JobKind::AuditVerify, t0), t0)
        .await
        .expect("enqueue");
    let worker = Worker::with_options(app.store.clone(), options())
        .handle(JobKind::AuditVerify, |_, _| async {
            panic!("a handler bug")
        });
    let r = worker.run_once(t0).await.expect("the worker survives");
    assert_eq!(r.failed, 1);
    let j = job_state(&app, job.id).await;
    assert_eq!(j.state, JobState::Failed);
    assert_eq!(j.last_error.as_deref(), Some("任务处理程序异常退出"));
}

async fn a_job_whose_lease_expired_is_claimed_again(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let lease = Duration::minutes(5);
    let (job, _) = app
        .store
        .enqueue_job(&admin, NewJob::new(JobKind::AuditVerify, t0), t0)
        .await
        .expect("enqueue");

    // A worker claims the job, then "crashes": it never reports.
    let crashed = app
        .store
        .claim_job(t0, lease)
        .await
        .expect("claim")
        .expect("due");
    assert_eq!((crashed.job.id, crashed.attempt), (job.id, 1));
    let held = job_state(&app, job.id).await;
    assert_eq!(held.state, JobState::Running);
    assert_eq!(held.locked_until, Some(t0 + lease));

    // While the lease holds nobody else gets it.
    let early = app
        .store
        .claim_job(t0 + Duration::minutes(4), lease)
        .await
        .expect("claim");
    assert!(early.is_none());

    // After it, the job is claimed again: at least once.
    let t1 = t0 + Duration::minutes(6);
    let again = app
        .store
        .claim_job(t1, lease)
        .await
        .expect("claim")
        .expect("lease expired");
    assert_eq!((again.job.id, again.attempt), (job.id, 2));

    // The crashed worker waking up cannot overwrite the later attempt.
    assert!(!app
        .store
        .complete_job(&crashed, json!({"late": true}), t1)
        .await
        .expect("complete"));
    assert!(app
        .store
        .complete_job(&again, json!({"ok": true}), t1)
        .await
        .expect("complete"));
    let done = job_state(&app, job.id).await;
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, Some(json!({"ok": true})));

    // A job whose worker vanished on its last attempt is given up rather than run for ever.
    let (last, _) = app
        .store
        .enqueue_job(
            &admin,
            NewJob::new(JobKind::AuditVerify, t1).max_attempts(1),
            t1,
        )
        .await
        .expect("enqueue");
    let claimed = app.store.claim_job(t1, lease).await.expect("claim");
    assert_eq!(claimed.map(|c| c.job.id), Some(last.id));
    let after = app
        .store
        .claim_job(t1 + Duration::minutes(10), lease)
        .await
        .expect("claim");
    assert!(after.is_none());
    let dead = job_state(&app, last.id).await;
    assert_eq!(dead.state, JobState::Dead);
    assert!(dead.last_error.unwrap_or_default().contains("租约"));
}

async fn concurrent_workers_run_each_job_once(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let mut ids = Vec::new();
    for i in 0..24 {
        let new = NewJob::new(JobKind::AuditVerify, t0).dedupe(format!("batch:{i}"));
        ids.push(
            app.store
                .enqueue_job(&admin, new, t0)
                .await
                .expect("enqueue")
                .0
                .id,
        );
    }
    let runs: Arc<Mutex<HashMap<i64, usize>>> = Arc::default();
    let counting = |runs: Arc<Mutex<HashMap<i64, usize>>>| {
        Worker::with_options(app.store.clone(), options()).handle(
            JobKind::AuditVerify,
            move |_, job| {
                let runs = runs.clone();
                async move {
                    *runs.lock().expect("lock").entry(job.id).or_default() += 1;
                    // Long enough for the other worker to poll meanwhile.
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    Ok(json!({}))
                }
            },
        )
    };
    let (a, b) = (counting(runs.clone()), counting(runs.clone()));
    let (ra, rb) = tokio::join!(a.run_once(t0), b.run_once(t0));
    let (ra, rb) = (ra.expect("worker a"), rb.expect("worker b"));
    assert_eq!(ra.succeeded + rb.succeeded, ids.len());
    assert_eq!(ra.lost + rb.lost, 0);
    let runs = runs.lock().expect("lock").clone();
    for id in &ids {
        assert_eq!(runs.get(id), Some(&1), "job {id} ran exactly once");
    }
    for id in ids {
        assert_eq!(job_state(&app, id).await.state, JobState::Succeeded);
    }
}

async fn the_nightly_audit_check_runs_end_to_end(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let worker = Worker::with_options(app.store.clone(), options());
    assert_eq!(worker.schedule_recurring(t0).await.expect("schedule"), 1);
    // The check is due at the nightly hour (China time) of t0's day, or at once past it: the
    // worker runs at that moment, whatever the hour the test starts at.
    let (_, due) = taizhang_domain::jobs::nightly_slot(t0, WorkerOptions::default().nightly_hour);
    let r = worker.run_once(due).await.expect("run");
    assert_eq!(r.succeeded, 1);
    let page = app
        .store
        .jobs(
            &admin,
            &JobFilter {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let job = &page.jobs[0];
    assert_eq!(job.kind, "audit.verify");
    assert_eq!(job.state, JobState::Succeeded);
    let result = job.result.clone().expect("result");
    assert_eq!(result["intact"], json!(true));
    assert!(result["entries"].as_i64().unwrap_or(0) > 0, "{result}");
    // Enqueuing it was audited, and the chain it checked is still whole.
    assert!(matches!(
        app.store.verify_audit_chain(admin.county_id).await,
        Ok(Ok(n)) if n > 0
    ));
}

async fn only_the_system_administrator_sees_jobs(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    app.store
        .enqueue_job(
            &admin,
            NewJob::new(JobKind::AuditVerify, t0).dedupe("daily:x"),
            t0,
        )
        .await
        .expect("enqueue");

    let token = app.token("admin").await;
    let (status, body) = app.get("/api/v1/jobs", &token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], json!(1));
    assert_eq!(body["jobs"][0]["kind"], json!("audit.verify"));
    assert_eq!(body["jobs"][0]["state"], json!("queued"));
    let (status, body) = app.get("/api/v1/jobs?state=dead", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], json!(0));
    let (status, doc) = app.get("/api/v1/openapi.json", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/api/v1/jobs"]["get"].is_object());
    assert!(doc["paths"]["/api/v1/jobs/{id}/retry"]["post"].is_object());
    assert!(doc["components"]["schemas"]["JobPage"].is_object());

    for other in ["jishu", "auditor", "anquan", "viewer"] {
        let t = app.token(other).await;
        let (status, _) = app.get("/api/v1/jobs", &t).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other} lists jobs");
        assert!(app
            .store
            .jobs(&app.actor(other).await, &JobFilter::default())
            .await
            .is_err());
    }

    let cookie = app.browser_login("admin").await;
    let (status, page) = app.page("/jobs", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("后台任务") && page.contains("审计链校验") && page.contains("排队"));
    let (_, home) = app.page("/", &cookie).await;
    assert!(
        home.contains("href=\"/jobs\""),
        "the administrator's menu links the page"
    );
    let cookie = app.browser_login("jishu").await;
    let (status, _) = app.page("/jobs", &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, home) = app.page("/", &cookie).await;
    assert!(!home.contains("href=\"/jobs\""));
}

async fn retrying_a_dead_job_is_audited(app: TestApp) {
    let admin = admin(&app).await;
    let t0 = start();
    let mut dead = Vec::new();
    for key in ["webhook:1", "webhook:2"] {
        let new = NewJob::new(JobKind::AuditVerify, t0)
            .dedupe(key)
            .max_attempts(1);
        dead.push(
            app.store
                .enqueue_job(&admin, new, t0)
                .await
                .expect("enqueue")
                .0
                .id,
        );
    }
    assert_eq!(
        failing_worker(&app).run_once(t0).await.expect("run").dead,
        2
    );

    // A township user may not retry; a job of no county's is not found.
    let jishu = app.token("jishu").await;
    let (status, _) = app
        .post(
            &format!("/api/v1/jobs/{}/retry", dead[0]),
            &jishu,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = app.token("admin").await;
    let (status, _) = app
        .post("/api/v1/jobs/999999/retry", &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, body) = app
        .post(
            &format!("/api/v1/jobs/{}/retry", dead[0]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["state"], json!("queued"));
    assert_eq!(body["attempts"], json!(0));
    // Only a dead (or waiting) job can be retried.
    let (status, body) = app
        .post(
            &format!("/api/v1/jobs/{}/retry", dead[0]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // The page's 重试 button carries the session's CSRF token.
    let cookie = app.browser_login("admin").await;
    let (_, page) = app.page("/jobs?state=dead", &cookie).await;
    assert!(page.contains(&format!("action=\"/jobs/{}/retry\"", dead[1])));
    assert!(page.contains("重试") && page.contains("已放弃"));
    let csrf = TestApp::csrf_of(&page);
    let path = format!("/jobs/{}/retry", dead[1]);
    let refused = post_form(&app, &path, &cookie, &[("_csrf", "forged")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(job_state(&app, dead[1]).await.state, JobState::Dead);
    let done = post_form(&app, &path, &cookie, &[("_csrf", csrf.as_str())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(job_state(&app, dead[1]).await.state, JobState::Queued);

    // Both retries are in the audit log, under the administrator's name.
    let auditor = app.actor("auditor").await;
    let (_, entries) = app
        .store
        .audit_entries(&auditor, Some("job"), 100, 0)
        .await
        .expect("audit");
    for id in &dead {
        let retry = entries
            .iter()
            .find(|e| e.action == "job.retry" && e.entity_id == id.to_string())
            .unwrap_or_else(|| panic!("retry of job {id} audited"));
        assert_eq!(retry.actor, "admin");
        assert_eq!(
            retry.before.as_ref().map(|b| b["state"].clone()),
            Some(json!("dead"))
        );
        assert_eq!(
            retry.after.as_ref().map(|a| a["state"].clone()),
            Some(json!("queued"))
        );
    }

    // Retried, they run again (now with the real handler) and succeed.
    let r = Worker::with_options(app.store.clone(), options())
        .run_once(Utc::now().max(t0))
        .await
        .expect("run");
    assert_eq!(r.succeeded, 2);
}
