//! `/jobs`: the county's background jobs for the 系统管理员, with a 重试 button for the dead.

use crate::shared::prelude::*;
use chrono::{DateTime, Utc};
use taizhang_domain::jobs::JobState;
use taizhang_store::jobs::{Job, JobFilter};

pub(crate) fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(jobs_page))
        .route("/jobs/{id}/retry", post(retry))
}

const PER_PAGE: i64 = 100;

pub struct JobLine {
    id: i64,
    kind: String,
    dedupe_key: String,
    state_key: &'static str,
    state_label: &'static str,
    attempts: i64,
    max_attempts: i64,
    run_at: String,
    finished_at: String,
    last_error: String,
    result: String,
    can_retry: bool,
}

pub struct StateLink {
    href: String,
    label: &'static str,
    current: bool,
}

#[derive(Template)]
#[template(path = "jobs/jobs.html")]
struct JobsPage {
    nav: Option<Nav>,
    total: i64,
    jobs: Vec<JobLine>,
    states: Vec<StateLink>,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct JobsQuery {
    state: Option<String>,
    page: Option<i64>,
}

fn local_time(t: DateTime<Utc>) -> String {
    (t + chrono::Duration::hours(8))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn line(j: &Job) -> JobLine {
    JobLine {
        id: j.id,
        kind: j.kind_label().to_string(),
        dedupe_key: j.dedupe_key.clone().unwrap_or_default(),
        state_key: j.state.key(),
        state_label: j.state.label_cn(),
        attempts: j.attempts,
        max_attempts: j.max_attempts,
        run_at: local_time(j.run_at),
        finished_at: j.finished_at.map(local_time).unwrap_or_default(),
        last_error: j.last_error.clone().unwrap_or_default(),
        result: j
            .result
            .as_ref()
            .map(|v| v.to_string().chars().take(200).collect())
            .unwrap_or_default(),
        can_retry: j.state == JobState::Dead,
    }
}

async fn jobs_page(
    State(st): State<AppState>,
    u: PageUser,
    Query(q): Query<JobsQuery>,
) -> PageResult {
    // An unknown state in the address lists every job rather than failing.
    let state = q.state.as_deref().and_then(|s| s.parse::<JobState>().ok());
    let page = q.page.unwrap_or(0).clamp(0, 100_000);
    let filter = JobFilter {
        state,
        kind: None,
        limit: PER_PAGE,
        offset: page * PER_PAGE,
    };
    let found = st.store.jobs(&u.session.actor, &filter).await?;
    let state_param = state
        .map(|s| format!("state={}&", s.key()))
        .unwrap_or_default();
    let mut states = vec![StateLink {
        href: "/jobs".into(),
        label: "全部",
        current: state.is_none(),
    }];
    states.extend(JobState::ALL.iter().map(|s| StateLink {
        href: format!("/jobs?state={}", s.key()),
        label: s.label_cn(),
        current: state == Some(*s),
    }));
    html(JobsPage {
        nav: nav_for(&st, &u).await,
        total: found.total,
        jobs: found.jobs.iter().map(line).collect(),
        states,
        prev: (page > 0).then(|| format!("/jobs?{state_param}page={}", page - 1)),
        next: ((page + 1) * PER_PAGE < found.total)
            .then(|| format!("/jobs?{state_param}page={}", page + 1)),
    })
}

async fn retry(
    State(st): State<AppState>,
    u: PageUser,
    Path(id): Path<i64>,
    CsrfForm(NoFields {}): CsrfForm<NoFields>,
) -> PageResult {
    st.store.retry_job(&u.session.actor, id, Utc::now()).await?;
    redirect_done("/jobs", Done::Queued)
}
