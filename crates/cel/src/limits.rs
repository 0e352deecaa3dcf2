//! kube-apiserver's CEL limits (`k8s.io/apiserver/pkg/apis/cel/config.go`) and the
//! bounds kubeward adds where cel-rust has none (expression length, nesting).

/// Runtime cost limit of one evaluation of one expression (kube's `PerCallLimit`).
pub const PER_CALL_LIMIT: u64 = 1_000_000;

/// Runtime cost budget shared by every rule evaluated on one custom resource
/// (kube's `RuntimeCELCostBudget`).
pub const RUNTIME_CEL_COST_BUDGET: u64 = 10_000_000;

/// Limit of the estimated worst-case cost of one rule times its cardinality, and of the
/// sum over a CRD schema (kube's `StaticEstimatedCostLimit`).
pub const STATIC_ESTIMATED_COST_LIMIT: u64 = 10_000_000;

/// Largest request body kube accepts; the bound of a value whose schema declares no
/// `maxLength` / `maxItems` / `maxProperties` (kube's `MaxRequestSizeBytes`).
pub const MAX_REQUEST_SIZE_BYTES: u64 = 3 * 1024 * 1024;

/// Longest message a `messageExpression` may produce
/// (kube's `MaxEvaluatedMessageExpressionSizeBytes`).
pub const MAX_EVALUATED_MESSAGE_EXPRESSION_SIZE_BYTES: usize = 5 * 1024;

/// Longest expression source accepted, in code points (cel-go's default
/// `ExpressionSizeCodePointLimit`, which kube keeps).
pub const MAX_EXPRESSION_CODE_POINTS: usize = 100_000;

/// Deepest grammar nesting the parser accepts (parentheses, lists, calls within calls;
/// cel-rust's default).
pub const MAX_PARSE_RECURSION_DEPTH: u16 = 96;

/// Deepest expression tree accepted (a chain `a + b + ...` or `x.a.b...` nests without
/// parentheses; cel-go's recursion limit). Evaluation recurses along it, so programs
/// run with stack room for their depth (see `Program::evaluate`).
pub const MAX_AST_DEPTH: usize = 250;

/// Deepest nesting of a JSON value converted to or from CEL.
pub const MAX_VALUE_DEPTH: usize = 256;
