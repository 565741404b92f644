//! The audit log in words an auditor reads: the Chinese name of every action and object the
//! store writes, and of the fields their before/after objects hold. A key without a name (an
//! entry of an older or newer version) is shown as it is stored.

/// Every action the store writes, with its Chinese name, in the order the page's select offers
/// them. A test in the integration suite fails when the store writes an action missing here.
pub const ACTIONS: &[(&str, &str)] = &[
    ("create", "新建"),
    ("update", "修改"),
    ("rename", "更名"),
    ("move", "调整隶属"),
    ("dissolve", "撤销组织"),
    ("end", "结束"),
    ("edit", "更正记录"),
    ("void", "作废"),
    ("upload", "上传附件"),
    ("import", "批量导入"),
    ("import.upload", "上传导入文件"),
    ("import.finish", "导入完成"),
    ("import.mapping", "保存导入列对应"),
    ("export", "导出"),
    ("view_personal", "查看完整个人信息"),
    ("login", "登录"),
    ("login_failed", "登录失败"),
    ("login_blocked", "登录受限"),
    ("logout", "退出登录"),
    ("change_password", "修改密码"),
    ("bind_totp", "绑定动态口令"),
    ("reset_password", "重置密码"),
    ("reset_totp", "重置动态口令"),
    ("grant", "变更权限"),
    ("config", "修改安全设置"),
    ("account_request", "提交账号申请"),
    ("account_confirm", "确认账号申请"),
    ("account_refuse", "驳回账号申请"),
    ("account_cancel", "撤回账号申请"),
    ("account_activate", "激活账号"),
    ("activation_failed", "激活失败"),
    ("activation_voided", "激活码作废"),
    ("refused", "拒绝访问"),
    ("attach_region", "挂接上级"),
    ("open_county", "进入本县（只读）"),
    ("job.enqueue", "后台任务排队"),
    ("job.retry", "后台任务重试"),
];

/// Every kind of object the store writes entries about, with its Chinese name.
pub const ENTITIES: &[(&str, &str)] = &[
    ("record", "台账记录"),
    ("org", "组织"),
    ("person", "人员"),
    ("position", "职务"),
    ("link", "结对联建"),
    ("ledger_type", "台账类型"),
    ("attachment", "附件"),
    ("import", "导入"),
    ("import_mapping", "导入列对应"),
    ("export", "导出清单"),
    ("user", "账号"),
    ("account_request", "账号申请"),
    ("session", "登录"),
    ("security_settings", "安全设置"),
    ("request", "访问请求"),
    ("county", "县"),
    ("region", "上级组织"),
    ("job", "后台任务"),
];

/// The Chinese names of the fields the entries' objects hold most; others keep their key.
const FIELDS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("kind", "类型"),
    ("code", "编码"),
    ("parent_id", "上级组织"),
    ("org_id", "组织"),
    ("person_id", "人员"),
    ("title", "职务"),
    ("on", "日期"),
    ("valid_from", "起始日期"),
    ("valid_to", "结束日期"),
    ("established_on", "成立日期"),
    ("dissolved_on", "撤销日期"),
    ("ledger_type", "台账类型"),
    ("occurred_on", "发生日期"),
    ("fields", "内容"),
    ("void_reason", "作废原因"),
    ("file_name", "文件名"),
    ("size", "大小（字节）"),
    ("count", "条数"),
    ("ids", "编号"),
    ("username", "用户名"),
    ("display_name", "显示名称"),
    ("role", "角色"),
    ("disabled", "停用"),
    ("state", "状态"),
    ("stage", "阶段"),
    ("request", "申请"),
    ("user_id", "账号"),
    ("failed_attempts", "失败次数"),
    ("list", "清单"),
    ("rows", "行数"),
    ("filters", "筛选条件"),
    ("format", "格式"),
    ("method", "请求方法"),
    ("path", "路径"),
    ("status", "状态码"),
    ("reason", "原因"),
    ("version", "版本"),
    ("more", "另有次数"),
    ("from", "起"),
    ("to", "止"),
    ("note", "说明"),
    ("id_number", "身份证号"),
    ("phone", "手机号"),
    ("gender", "性别"),
    ("party_member", "党员"),
    ("address", "地址"),
    ("limit", "限制"),
    ("target", "导入对象"),
    ("mode", "导入方式"),
    ("bytes", "字节数"),
];

fn lookup<'a>(table: &'static [(&'static str, &'static str)], key: &'a str) -> &'a str {
    table
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(key, |(_, name)| *name)
}

/// The Chinese name of an action; an unknown key is returned as it is.
pub fn action_name(key: &str) -> &str {
    lookup(ACTIONS, key)
}

/// The Chinese name of a kind of object; an unknown key is returned as it is.
pub fn entity_name(key: &str) -> &str {
    lookup(ENTITIES, key)
}

/// The Chinese name of a field of an entry's object; an unknown key is returned as it is.
pub fn field_label(key: &str) -> &str {
    lookup(FIELDS, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_have_chinese_names_and_unknown_ones_stay_raw() {
        assert_eq!(action_name("create"), "新建");
        assert_eq!(action_name("refused"), "拒绝访问");
        assert_eq!(action_name("job.retry"), "后台任务重试");
        assert_eq!(action_name("teleport"), "teleport");
        assert_eq!(action_name(""), "");
        assert_eq!(entity_name("record"), "台账记录");
        assert_eq!(entity_name("widget"), "widget");
        assert_eq!(field_label("void_reason"), "作废原因");
        assert_eq!(field_label("households"), "households");
    }

    #[test]
    fn every_key_is_named_once() {
        for table in [ACTIONS, ENTITIES, FIELDS] {
            for (i, (key, name)) in table.iter().enumerate() {
                assert!(!name.is_empty(), "{key}");
                let rest = &table[i + 1..];
                assert!(rest.iter().all(|(k, _)| k != key), "{key} named twice");
                assert!(rest.iter().all(|(_, n)| n != name), "{name} names two keys");
            }
        }
    }
}
