//! The CEL of Kubewarden policy instances (feature `cluster-policies`): `matchConditions`, evaluated with
//! the variables Kubernetes gives them (`object`, `oldObject`, `request`), and a policy group's
//! `expression` over its members. CEL is the `cel` crate's: its standard library, its `strings`, `lists`,
//! `math` and base64 extensions and `matches`. An expression that calls a function it lacks (Kubernetes'
//! `authorizer`, `url`, `quantity`, `isSemver`, ...) is refused when the instance is read, naming the
//! function, so a condition never silently decides true or false.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use cel::common::ast::{Expr, IdedExpr, LiteralValue, operators};
use cel::{Context, Env, Program};
use serde_json::Value;

/// The variables a webhook's matchConditions see.
const VARIABLES: [&str; 3] = ["object", "oldObject", "request"];

/// The identifiers CEL itself defines: type names and `null`.
const BUILTIN_IDENTIFIERS: [&str; 11] = [
    "bool",
    "bytes",
    "double",
    "int",
    "uint",
    "string",
    "list",
    "map",
    "null_type",
    "type",
    "dyn",
];

/// The CEL environment: the standard library and every extension the crate has.
fn environment() -> &'static Arc<Env> {
    static ENVIRONMENT: OnceLock<Arc<Env>> = OnceLock::new();
    ENVIRONMENT.get_or_init(|| {
        let mut env = Env::stdlib();
        for extension in [
            cel::extensions::strings,
            cel::extensions::lists,
            cel::extensions::math,
            cel::extensions::encoders,
        ] {
            // The crate's own extensions declare distinct functions: adding them cannot conflict.
            let _ = env.add_extension(extension);
        }
        Arc::new(env)
    })
}

/// Whether `name` is a function (or method) the environment declares.
fn declared(name: &str) -> bool {
    // `add_function` refuses a name the environment declares: the only public way to ask it.
    let mut probe = Context::with_env(Arc::clone(environment()));
    probe.add_function(name, || false).is_err()
}

/// What an expression refers to that the environment lacks: functions, and variables outside `known`.
fn missing(expression: &IdedExpr, known: &[&str]) -> Vec<String> {
    fn walk(
        expression: &IdedExpr,
        bound: &mut Vec<String>,
        known: &[&str],
        missing: &mut BTreeSet<String>,
    ) {
        match &expression.expr {
            Expr::Call(call) => {
                let operator = call.func_name.starts_with('_')
                    || call.func_name.starts_with('@')
                    || call.func_name == operators::LOGICAL_NOT
                    || call.func_name == operators::NEGATE;
                if !operator && !declared(&call.func_name) {
                    missing.insert(format!("function {}", call.func_name));
                }
                for argument in call.target.as_deref().into_iter().chain(&call.args) {
                    walk(argument, bound, known, missing);
                }
            }
            Expr::Comprehension(comprehension) => {
                walk(&comprehension.iter_range, bound, known, missing);
                walk(&comprehension.accu_init, bound, known, missing);
                let depth = bound.len();
                bound.push(comprehension.iter_var.clone());
                bound.extend(comprehension.iter_var2.clone());
                bound.push(comprehension.accu_var.clone());
                for part in [
                    &comprehension.loop_cond,
                    &comprehension.loop_step,
                    &comprehension.result,
                ] {
                    walk(part, bound, known, missing);
                }
                bound.truncate(depth);
            }
            Expr::Ident(name) => {
                let defined = name.starts_with('@')
                    || bound.contains(name)
                    || known.contains(&name.as_str())
                    || BUILTIN_IDENTIFIERS.contains(&name.as_str());
                if !defined {
                    missing.insert(format!("variable {name}"));
                }
            }
            Expr::List(list) => {
                for element in &list.elements {
                    walk(element, bound, known, missing);
                }
            }
            Expr::Map(map) => {
                for entry in &map.entries {
                    match &entry.expr {
                        cel::common::ast::EntryExpr::StructField(field) => {
                            walk(&field.value, bound, known, missing);
                        }
                        cel::common::ast::EntryExpr::MapEntry(entry) => {
                            walk(&entry.key, bound, known, missing);
                            walk(&entry.value, bound, known, missing);
                        }
                    }
                }
            }
            Expr::Select(select) => walk(&select.operand, bound, known, missing),
            Expr::Struct(_) => {
                missing.insert("message construction".to_owned());
            }
            Expr::Literal(_) | Expr::Unspecified => {}
        }
    }
    let mut found = BTreeSet::new();
    walk(expression, &mut Vec::new(), known, &mut found);
    found.into_iter().collect()
}

/// One of a webhook's `matchConditions`: the request is sent only when every one is true.
#[derive(Debug)]
pub struct MatchCondition {
    /// Its `name`.
    pub name: String,
    program: Program,
}

impl MatchCondition {
    /// Compiles `expression`; an error names what scaleguard's CEL lacks.
    pub fn compile(name: &str, expression: &str) -> Result<Self, String> {
        let program = environment()
            .compile(expression)
            .map_err(|error| format!("matchConditions[{name}]: invalid CEL: {error}"))?;
        let missing = missing(program.expression(), &VARIABLES);
        if !missing.is_empty() {
            return Err(format!(
                "matchConditions[{name}] uses {}, which scaleguard's CEL does not provide (it has CEL's \
                 standard library, the strings, lists, math and base64 extensions and `matches`, and the \
                 variables object, oldObject and request)",
                missing.join(", ")
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            program,
        })
    }

    /// The condition's value for `request` (an AdmissionRequest as JSON); an error when it fails or is
    /// not a boolean.
    pub fn evaluate(&self, request: &Value) -> Result<bool, String> {
        let mut context = Context::with_env(Arc::clone(environment()));
        for (variable, value) in [
            ("object", &request["object"]),
            ("oldObject", &request["oldObject"]),
            ("request", request),
        ] {
            context.add_variable_from_value(variable, to_cel(value));
        }
        match self.program.execute(&context) {
            Ok(cel::Value::Bool(value)) => Ok(value),
            Ok(other) => Err(format!(
                "matchConditions[{}] gave {other:?}, not a boolean",
                self.name
            )),
            Err(error) => Err(format!("matchConditions[{}]: {error}", self.name)),
        }
    }
}

/// A JSON value as CEL's: integers stay `int` (Kubernetes' CEL has no `uint` fields), the rest as is.
fn to_cel(value: &Value) -> cel::Value {
    match value {
        Value::Null => cel::Value::Null,
        Value::Bool(b) => cel::Value::Bool(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => cel::Value::Int(i),
            (None, Some(u)) => cel::Value::UInt(u),
            _ => cel::Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => cel::Value::String(Arc::new(s.clone())),
        Value::Array(items) => cel::Value::List(Arc::new(items.iter().map(to_cel).collect())),
        Value::Object(fields) => fields
            .iter()
            .map(|(key, value)| (key.clone(), to_cel(value)))
            .collect::<HashMap<String, cel::Value>>()
            .into(),
    }
}

/// A policy group's `expression`: its members' verdicts joined by `&&`, `||`, `!` and parentheses, as
/// Kubewarden documents it. Members are evaluated left to right and only when needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupExpression {
    /// `member()`: whether the member accepts.
    Member(String),
    /// `true` or `false`.
    Literal(bool),
    /// `!e`.
    Not(Box<Self>),
    /// `a && b`.
    And(Box<Self>, Box<Self>),
    /// `a || b`.
    Or(Box<Self>, Box<Self>),
}

impl GroupExpression {
    /// Parses `text` over the group's `members`.
    pub fn parse(text: &str, members: &[&str]) -> Result<Self, String> {
        let parsed = cel::parser::Parser::new()
            .parse(text)
            .map_err(|error| format!("expression: invalid CEL: {error}"))?;
        Self::from_cel(&parsed, members)
    }

    fn from_cel(expression: &IdedExpr, members: &[&str]) -> Result<Self, String> {
        let unsupported = || {
            Err(format!(
                "expression: only calls of the members ({}), &&, || and ! are supported",
                members.join(", ")
            ))
        };
        let Expr::Call(call) = &expression.expr else {
            return match &expression.expr {
                Expr::Literal(LiteralValue::Boolean(value)) => Ok(Self::Literal(*value.inner())),
                _ => unsupported(),
            };
        };
        let operand = |index: usize| -> Result<Box<Self>, String> {
            Ok(Box::new(Self::from_cel(&call.args[index], members)?))
        };
        match (call.func_name.as_str(), call.args.len(), &call.target) {
            (operators::LOGICAL_AND, 2, None) => Ok(Self::And(operand(0)?, operand(1)?)),
            (operators::LOGICAL_OR, 2, None) => Ok(Self::Or(operand(0)?, operand(1)?)),
            (operators::LOGICAL_NOT, 1, None) => Ok(Self::Not(operand(0)?)),
            (name, 0, None) if members.contains(&name) => Ok(Self::Member(name.to_owned())),
            (name, 0, None) if !name.starts_with('_') => Err(format!(
                "expression calls {name}(), which is no member of the group (members: {})",
                members.join(", ")
            )),
            _ => unsupported(),
        }
    }

    /// The expression's value, asking `member` for each member's verdict as it is needed.
    pub fn evaluate(&self, member: &mut dyn FnMut(&str) -> bool) -> bool {
        match self {
            Self::Member(name) => member(name),
            Self::Literal(value) => *value,
            Self::Not(operand) => !operand.evaluate(member),
            Self::And(left, right) => left.evaluate(member) && right.evaluate(member),
            Self::Or(left, right) => left.evaluate(member) || right.evaluate(member),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(labels: Value, annotations: Value) -> Value {
        json!({"operation": "CREATE", "userInfo": {"username": "alice"},
            "object": {"metadata": {"name": "d", "labels": labels, "annotations": annotations},
                "spec": {"replicas": 3}},
            "oldObject": null})
    }

    #[test]
    fn conditions_see_object_old_object_and_request() {
        let condition = MatchCondition::compile(
            "not-exempt",
            "!has(object.metadata.annotations) || \
             !('scaleguard.io/exempt' in object.metadata.annotations) || \
             object.metadata.annotations['scaleguard.io/exempt'] != 'true'",
        )
        .unwrap();
        assert_eq!(condition.evaluate(&request(json!({}), json!({}))), Ok(true));
        let exempt = request(json!({}), json!({"scaleguard.io/exempt": "true"}));
        assert_eq!(condition.evaluate(&exempt), Ok(false));
        let others = [
            ("oldObject == null && request.operation == 'CREATE'", true),
            (
                "object.spec.replicas > 2 && request.userInfo.username.startsWith('al')",
                true,
            ),
            (
                "object.metadata.name.matches('^d$') && 'D'.lowerAscii() == 'd'",
                true,
            ),
            (
                "[1, 2].all(x, x > 0) && object.metadata.labels.exists(k, k == 'team')",
                false,
            ),
        ];
        for (expression, expected) in others {
            let condition = MatchCondition::compile("c", expression).unwrap();
            assert_eq!(
                condition.evaluate(&request(json!({"tier": "a"}), json!({}))),
                Ok(expected),
                "{expression}"
            );
        }
    }

    #[test]
    fn what_scaleguard_lacks_is_refused_by_name() {
        let error = MatchCondition::compile(
            "k8s",
            "authorizer.group('').resource('x').check('get').allowed() && isURL(object.x)",
        )
        .unwrap_err();
        assert_eq!(
            error,
            "matchConditions[k8s] uses function allowed, function check, function group, function isURL, \
             function resource, variable authorizer, which scaleguard's CEL does not provide (it has CEL's \
             standard library, the strings, lists, math and base64 extensions and `matches`, and the \
             variables object, oldObject and request)"
        );
        assert!(
            MatchCondition::compile("q", "quantity('1Gi') > 0")
                .unwrap_err()
                .contains("uses function quantity,")
        );
        assert!(
            MatchCondition::compile("bad", "object.")
                .unwrap_err()
                .starts_with("matchConditions[bad]: invalid CEL: ")
        );
        let not_boolean = MatchCondition::compile("n", "object.spec.replicas").unwrap();
        assert_eq!(
            not_boolean.evaluate(&request(json!({}), json!({}))),
            Err("matchConditions[n] gave Int(3), not a boolean".to_owned())
        );
    }

    #[test]
    fn group_expressions_evaluate_members_only_when_needed() {
        let members = ["a", "b", "c"];
        let expression = GroupExpression::parse("a() || (b() && !c())", &members).unwrap();
        let mut asked = Vec::new();
        let verdict = expression.evaluate(&mut |name| {
            asked.push(name.to_owned());
            name == "a"
        });
        assert!(verdict);
        assert_eq!(asked, ["a"]);
        asked.clear();
        let verdict = expression.evaluate(&mut |name| {
            asked.push(name.to_owned());
            name == "b"
        });
        assert!(verdict);
        assert_eq!(asked, ["a", "b", "c"]);
        assert_eq!(
            GroupExpression::parse("a() && d()", &members),
            Err(
                "expression calls d(), which is no member of the group (members: a, b, c)"
                    .to_owned()
            )
        );
        assert_eq!(
            GroupExpression::parse("a() == b()", &members),
            Err(
                "expression: only calls of the members (a, b, c), &&, || and ! are supported"
                    .to_owned()
            )
        );
    }
}
