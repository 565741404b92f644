//! Many organisations in one transaction (an organisation sheet): each row placed under an
//! organisation on file or under an earlier row, checked and written by the same functions as
//! `create_org` (`check_new_org`, `check_placement`, `insert_checked_org`), so that the rules
//! are kept in one place. Compiled once per backend.

use super::orgs::{check_new_org, check_placement, insert_checked_org};
use super::*;
use crate::orgs::{BulkOrg, BulkOrgOutcome, BulkParent};
use crate::{Actor, Pools, StoreError, StoreResult};
use taizhang_domain::ledger::FieldError;
use taizhang_domain::Action;

/// A row's refusal as its errors, or the store error that stops the whole call.
fn row_errors(e: StoreError) -> StoreResult<Vec<FieldError>> {
    match e {
        StoreError::Invalid(errors) => Ok(errors),
        StoreError::Conflict { code, message } => Ok(vec![FieldError::new("org", code, message)]),
        StoreError::NotFound => Ok(vec![FieldError::new(
            "parent",
            "org.parent_not_found",
            "上级组织不存在或不在您的管理范围内",
        )]),
        other => Err(other),
    }
}

pub(crate) async fn bulk_orgs(
    p: &Pools<DB>,
    actor: &Actor,
    rows: &[BulkOrg],
    write: bool,
    all_or_nothing: bool,
) -> StoreResult<Vec<BulkOrgOutcome>> {
    require(actor, Action::EditOrg)?;
    let mut outcomes: Vec<BulkOrgOutcome> = Vec::with_capacity(rows.len());
    let mut tx = begin_write(p).await?;
    for (i, row) in rows.iter().enumerate() {
        let parent_id = match row.parent {
            BulkParent::Org(id) => Ok(id.get()),
            BulkParent::Row(j) if j < i => match &outcomes[j] {
                BulkOrgOutcome::Written(o) | BulkOrgOutcome::Passed(o) => Ok(o.id.get()),
                BulkOrgOutcome::Rejected(_) => Err(vec![FieldError::new(
                    "parent",
                    "org.parent_rejected",
                    "上级组织未能导入，请先改正上级组织所在的行",
                )]),
            },
            BulkParent::Row(_) => {
                return Err(StoreError::Internal(format!(
                    "第{i}个组织的上级不在它之前"
                )))
            }
        };
        let placed = match parent_id {
            Err(errors) => Err(errors),
            Ok(parent_id) => match check_new_org(&row.org) {
                Err(e) => Err(row_errors(e)?),
                Ok(checked) => match check_placement(&mut tx, actor, parent_id, &checked).await {
                    Err(e) => Err(row_errors(e)?),
                    Ok(_) => Ok(
                        insert_checked_org(&mut tx, &p.audit_key, actor, parent_id, &checked)
                            .await?,
                    ),
                },
            },
        };
        outcomes.push(match placed {
            Ok(org) => BulkOrgOutcome::Written(org),
            Err(errors) => BulkOrgOutcome::Rejected(errors),
        });
    }
    let refused = outcomes
        .iter()
        .any(|o| matches!(o, BulkOrgOutcome::Rejected(_)));
    if !write || (all_or_nothing && refused) {
        tx.rollback().await?;
        for o in &mut outcomes {
            if let BulkOrgOutcome::Written(org) = o {
                *o = BulkOrgOutcome::Passed(org.clone());
            }
        }
    } else {
        tx.commit().await?;
    }
    Ok(outcomes)
}
