//! The demo users: one per role, at the county, two townships, a village and an organ branch.
//! The demo county does not require a second factor of its administrators, so that every demo
//! account logs in with the printed password; a county set up with `taizhang init` does.

use crate::seeder::Seeder;
use crate::{missing, DemoOptions, World};
use taizhang_domain::{PersonId, Role};
use taizhang_store::{NewUser, Org, SecuritySettings, StoreResult};

impl Seeder<'_> {
    pub(crate) async fn users(
        &mut self,
        opts: &DemoOptions,
        root: &Org,
        world: &World,
        first: (PersonId, usize),
    ) -> StoreResult<Vec<(String, String, String)>> {
        let jishu = &world.town("鸡黍镇")?.org;
        let gaohe = &world.town("高河街道")?.org;
        let xunzhuang = world.branch("寻庄村")?;
        let xunzhuang_secretary = xunzhuang
            .secretary
            .as_ref()
            .map(|s| s.0)
            .ok_or_else(|| missing("寻庄村党支部书记"))?;
        let (first_secretary, sender) = first;
        let sending = &world.branches[sender].org;
        let dispatched_to = world
            .branches
            .iter()
            .find(|b| b.first_secretary == Some(first_secretary))
            .map_or("", |b| b.org.name.as_str());
        let diyishuji = format!("{dispatched_to}第一书记");
        let specs: [(&str, &str, Role, &Org, Option<PersonId>); 8] = [
            ("admin", "金乡县系统管理员", Role::Admin, root, None),
            ("anquan", "金乡县安全管理员", Role::SecAdmin, root, None),
            ("auditor", "金乡县审计员", Role::Auditor, root, None),
            ("jishu", "鸡黍镇党委组织委员", Role::Manager, jishu, None),
            (
                "gaohe",
                "高河街道党工委组织委员",
                Role::Manager,
                gaohe,
                None,
            ),
            (
                "xunzhuang",
                "寻庄村党支部书记",
                Role::Recorder,
                &xunzhuang.org,
                Some(xunzhuang_secretary),
            ),
            ("viewer", "县委组织部查看账号", Role::Viewer, root, None),
            (
                "diyishuji",
                &diyishuji,
                Role::Recorder,
                sending,
                Some(first_secretary),
            ),
        ];
        let mut out = Vec::new();
        for (username, display, role, org, person_id) in specs {
            let new = NewUser {
                username: username.into(),
                display_name: display.to_string(),
                password: opts.admin_password.clone(),
                role,
                org_id: org.id,
                person_id,
                must_change_password: false,
            };
            self.store.create_user(&self.actor, new).await?;
            out.push((
                username.to_string(),
                role.label_cn().to_string(),
                org.name.clone(),
            ));
        }
        self.store
            .update_security_settings(
                &self.actor,
                &SecuritySettings {
                    totp_required_for_admins: false,
                    ..SecuritySettings::default()
                },
            )
            .await?;
        Ok(out)
    }
}
