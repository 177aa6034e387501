// Chinese first (zh-CN default), English on request. Domain terms carry both names.
export const MESSAGES = {
  "zh-CN": {
    "nav.queue": "审核队列", "nav.lists": "名单", "nav.signout": "退出", "skip": "跳到正文",
    "signin.title": "登录", "signin.token": "访问令牌 (Bearer token)", "signin.user": "用户名 (审核人)",
    "signin.submit": "登录", "signin.expired": "登录已失效，请重新登录", "signin.required": "必填",
    "queue.title": "审核队列 (review queue)", "queue.status": "状态", "queue.decision": "决策",
    "queue.product": "产品", "queue.from": "起始日期", "queue.to": "截止日期", "queue.apply": "筛选",
    "queue.case": "案件", "queue.amount": "申请金额", "queue.limit": "额度", "queue.score": "评分",
    "queue.reasons": "原因", "queue.waiting": "等待时长", "queue.level": "审核级别", "queue.created": "创建时间",
    "queue.next": "下一页", "queue.first": "第一页", "queue.empty": "没有案件", "queue.any": "全部",
    "case.title": "案件", "case.summary": "概要", "case.status": "状态", "case.decision": "决策",
    "case.automated": "自动决策", "case.applicant": "申请人 (已脱敏)", "case.offer": "授信方案 (offer)",
    "case.schedule": "还款计划 (repayment schedule)", "case.reasons": "原因 (reasons)",
    "case.score": "评分 (score)", "case.contributions": "贡献 (contributions)", "case.points": "评分卡分值 (scorecard points)",
    "case.rules": "规则 (rules)", "case.rule": "规则", "case.action": "动作", "case.params": "参数",
    "case.observed": "观测值 (observed)", "case.outcome": "结果", "case.effect": "影响",
    "case.vendors": "外部数据调用 (vendor calls)", "case.vendor": "数据源", "case.cost": "费用",
    "case.latency": "耗时 (ms)", "case.cache": "缓存", "case.listhits": "名单命中 (list hits)",
    "case.versions": "版本 (versions)", "case.policy": "策略", "case.model": "模型", "case.arm": "实验组 (experiment arm)",
    "case.timings": "耗时 (timings)", "case.review": "人工审核 (manual review)", "case.history": "审核记录 (review history)",
    "case.timeline": "执行时间线 (execution timeline)", "case.open_timeline": "查看执行时间线",
    "case.back": "返回案件", "case.error": "失败信息", "case.none": "无",
    "review.title": "审核意见", "review.reviewer": "审核人", "review.decision": "结论",
    "review.approve": "通过 (APPROVE)", "review.reject": "拒绝 (REJECT)", "review.limit": "调低额度 (可选)",
    "review.note": "备注", "review.submit": "提交审核", "review.level": "当前级别",
    "review.initial": "初审 (initial)", "review.final": "复审 (final)", "review.done": "审核已提交",
    "lists.title": "名单管理 (lists)", "lists.kind": "名单类型", "lists.key_type": "标识类型", "lists.value": "值",
    "lists.lookup": "查询", "lists.add": "加入名单", "lists.remove": "移出名单", "lists.reason_code": "原因代码",
    "lists.reason": "原因说明", "lists.ttl": "有效期 (天，留空为永久)", "lists.listed": "在名单中",
    "lists.not_listed": "不在名单中", "lists.history": "变更记录 (audit history)", "lists.expires": "到期",
    "lists.action": "操作", "lists.by": "操作人", "lists.at": "时间",
    "kind.BLACK": "黑名单 (black)", "kind.GREY": "灰名单 (grey)", "kind.WHITE": "白名单 (white)",
    "err.generic": "请求失败", "loading": "加载中…",
  },
  en: {
    "nav.queue": "Review queue", "nav.lists": "Lists", "nav.signout": "Sign out", "skip": "Skip to content",
    "signin.title": "Sign in", "signin.token": "Access token (Bearer)", "signin.user": "User name (reviewer)",
    "signin.submit": "Sign in", "signin.expired": "Your session expired: sign in again", "signin.required": "required",
    "queue.title": "Review queue (审核队列)", "queue.status": "Status", "queue.decision": "Decision",
    "queue.product": "Product", "queue.from": "From", "queue.to": "To", "queue.apply": "Filter",
    "queue.case": "Case", "queue.amount": "Requested", "queue.limit": "Limit", "queue.score": "Score",
    "queue.reasons": "Reasons", "queue.waiting": "Waiting", "queue.level": "Level", "queue.created": "Created",
    "queue.next": "Next page", "queue.first": "First page", "queue.empty": "No cases", "queue.any": "Any",
    "case.title": "Case", "case.summary": "Summary", "case.status": "Status", "case.decision": "Decision",
    "case.automated": "Automated decision", "case.applicant": "Applicant (masked)", "case.offer": "Offer (授信方案)",
    "case.schedule": "Repayment schedule (还款计划)", "case.reasons": "Reasons (原因)",
    "case.score": "Score (评分)", "case.contributions": "Contributions", "case.points": "Scorecard points",
    "case.rules": "Rules (规则)", "case.rule": "Rule", "case.action": "Action", "case.params": "Parameters",
    "case.observed": "Observed (观测值)", "case.outcome": "Outcome", "case.effect": "Effect",
    "case.vendors": "Vendor calls (外部数据)", "case.vendor": "Vendor", "case.cost": "Cost",
    "case.latency": "Latency (ms)", "case.cache": "Cache", "case.listhits": "List hits (名单命中)",
    "case.versions": "Versions", "case.policy": "Policy", "case.model": "Model", "case.arm": "Experiment arm",
    "case.timings": "Timings", "case.review": "Manual review (人工审核)", "case.history": "Review history",
    "case.timeline": "Execution timeline (执行时间线)", "case.open_timeline": "Open the execution timeline",
    "case.back": "Back to the case", "case.error": "Failure", "case.none": "None",
    "review.title": "Review", "review.reviewer": "Reviewer", "review.decision": "Decision",
    "review.approve": "Approve (通过)", "review.reject": "Reject (拒绝)", "review.limit": "Lower limit (optional)",
    "review.note": "Note", "review.submit": "Submit review", "review.level": "Level",
    "review.initial": "Initial (初审)", "review.final": "Final (复审)", "review.done": "Review submitted",
    "lists.title": "Lists (名单)", "lists.kind": "List", "lists.key_type": "Key type", "lists.value": "Value",
    "lists.lookup": "Look up", "lists.add": "Add to list", "lists.remove": "Remove from list", "lists.reason_code": "Reason code",
    "lists.reason": "Reason", "lists.ttl": "Expires in days (blank: permanent)", "lists.listed": "Listed",
    "lists.not_listed": "Not listed", "lists.history": "Audit history", "lists.expires": "Expires",
    "lists.action": "Action", "lists.by": "By", "lists.at": "At",
    "kind.BLACK": "Black (黑名单)", "kind.GREY": "Grey (灰名单)", "kind.WHITE": "White (白名单)",
    "err.generic": "Request failed", "loading": "Loading…",
  },
};

let current = localStorage.getItem("lendguard.lang") || "zh-CN";

export function lang() { return current; }

export function setLang(value) {
  current = value in MESSAGES ? value : "zh-CN";
  localStorage.setItem("lendguard.lang", current);
  document.documentElement.lang = current;
}

/** The message for key in the current language (the key itself if none: visible, never blank). */
export function t(key) {
  return MESSAGES[current][key] ?? MESSAGES["zh-CN"][key] ?? key;
}

// Domain terms, always in both languages (the reviewer's word and the analyst's), matched on the
// parts of rule ids and fact names.
export const TERMS = [
  ["MULTI_LENDER", "多头借贷 / multi-lender"],
  ["DELINQUENCY", "逾期 / delinquency"],
  ["OVERDUE", "逾期 / delinquency"],
  ["THIN_FILE", "征信白户 / thin file"],
  ["DTI", "负债收入比 / debt-to-income"],
  ["AMOUNT_TO_INCOME", "借款收入比 / amount-to-income"],
  ["BLACK", "黑名单 / blacklist"],
  ["GREY", "灰名单 / grey list"],
  ["DEVICE_RISK", "设备风险 / device risk"],
  ["IDV", "身份核验 / identity verification"],
  ["PHONE_TENURE", "手机在网时长 / phone tenure"],
  ["FRAUD", "反欺诈 / anti-fraud"],
  ["NIGHT", "夜间申请 / night-time application"],
];

/** The bilingual domain terms a rule id names (empty if none). */
export function termsFor(ruleId) {
  const id = `_${ruleId.toUpperCase()}_`;
  return [...new Set(TERMS.filter(([part]) => id.includes(`_${part}_`)).map(([, term]) => term))];
}
