//! `--format` as Docker has it: `table` (the command's own table), `json`
//! (one object per line), `table TEMPLATE` (a Go template per row under a
//! header, in aligned columns) or `TEMPLATE` (a Go template per row).
//! Templates are Go's `text/template` (the gotmpl crate) with Docker's
//! functions: `json`, `upper`, `lower`, `title`, `join`, `split`,
//! `truncate`, `println`.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use gotmpl::{MissingKey, Template, TemplateError, Value};

/// How a listing is printed.
#[derive(Clone, Debug)]
pub enum Format {
    Table,
    Json,
    Template { table: bool, template: GoTemplate },
}

/// A parsed Go template.
#[derive(Clone)]
pub struct GoTemplate(Template);

impl std::fmt::Debug for GoTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GoTemplate")
    }
}

impl GoTemplate {
    /// The template applied to `data`.
    pub fn render(&self, data: &serde_json::Value) -> Result<String, String> {
        self.0
            .execute_to_string(&to_value(data))
            .map_err(|e| e.to_string())
    }
}

/// Parses a `--format` value (clap's value parser).
pub fn parse_format(text: &str) -> Result<Format, String> {
    match text {
        "table" | "" => return Ok(Format::Table),
        "json" => return Ok(Format::Json),
        _ => {}
    }
    let (table, source) = match text.strip_prefix("table") {
        Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
        _ => (false, text),
    };
    Ok(Format::Template {
        table,
        template: compile(source)?,
    })
}

/// A Go template with Docker's functions; `\t` and `\n` written as two
/// characters (as a shell passes them) are a tab and a newline.
pub fn compile(source: &str) -> Result<GoTemplate, String> {
    let source = source.replace("\\t", "\t").replace("\\n", "\n");
    Template::new("")
        .missing_key(MissingKey::Error)
        .func("json", to_json)
        .func("upper", |args| text_op(args, "upper", |s| s.to_uppercase()))
        .func("lower", |args| text_op(args, "lower", |s| s.to_lowercase()))
        .func("title", |args| text_op(args, "title", title))
        .func("join", join)
        .func("split", split)
        .func("truncate", truncate)
        .func("println", |args| {
            let words: Vec<String> = args.iter().map(ToString::to_string).collect();
            Ok(Value::String(format!("{}\n", words.join(" ")).into()))
        })
        .parse(&source)
        .map(GoTemplate)
        .map_err(|e| format!("template parsing error: {e}"))
}

impl Format {
    /// One object (`version`, `info`) as JSON or through the template;
    /// `None` for `table`, which the caller prints its own way.
    pub fn render_one(&self, value: &serde_json::Value) -> Result<Option<String>, String> {
        match self {
            Format::Table => Ok(None),
            Format::Json => Ok(Some(value.to_string())),
            Format::Template { template, .. } => template.render(value).map(Some),
        }
    }

    /// Prints `rows` as JSON lines or through the template; `headers` name
    /// each field's column for `table TEMPLATE`. False for `table`, which
    /// the caller prints its own way.
    pub fn print(
        &self,
        rows: &[serde_json::Value],
        headers: &[(&str, &str)],
    ) -> Result<bool, String> {
        let mut out = String::new();
        match self {
            Format::Table => return Ok(false),
            Format::Json => {
                for row in rows {
                    out.push_str(&row.to_string());
                    out.push('\n');
                }
            }
            Format::Template { table, template } => {
                if *table {
                    let names: serde_json::Map<String, serde_json::Value> = headers
                        .iter()
                        .map(|(field, name)| ((*field).to_owned(), (*name).into()))
                        .collect();
                    out.push_str(&template.render(&names.into())?);
                    out.push('\n');
                }
                for row in rows {
                    out.push_str(&template.render(row)?);
                    out.push('\n');
                }
                if *table {
                    out = aligned(&out)?;
                }
            }
        }
        print!("{out}");
        Ok(true)
    }
}

/// Tab-separated cells in columns, as Docker's tabwriter sets them: 3
/// spaces apart, and at least 10 wide with them (Go counts the padding in
/// the minimum width; this crate adds it after).
fn aligned(text: &str) -> Result<String, String> {
    let mut writer = tabwriter::TabWriter::new(Vec::new()).minwidth(7).padding(3);
    writer
        .write_all(text.as_bytes())
        .and_then(|()| writer.flush())
        .map_err(|e| e.to_string())?;
    let bytes = writer.into_inner().map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::Uint(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(s.as_str().into()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(to_value).collect()),
        serde_json::Value::Object(map) => {
            let map: BTreeMap<Arc<str>, Value> = map
                .iter()
                .map(|(k, v)| (Arc::from(k.as_str()), to_value(v)))
                .collect();
            Value::Map(Arc::new(map))
        }
    }
}

fn to_serde(value: &Value) -> serde_json::Value {
    match value {
        Value::Nil | Value::Function(_) => serde_json::Value::Null,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i).into(),
        Value::Uint(u) => (*u).into(),
        Value::Float(f) => (*f).into(),
        Value::String(s) => s.as_ref().into(),
        Value::List(items) => items.iter().map(to_serde).collect(),
        Value::Map(map) => map
            .iter()
            .map(|(k, v)| (k.to_string(), to_serde(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
    }
}

fn arity(args: &[Value], name: &str, expected: usize) -> Result<(), TemplateError> {
    if args.len() == expected {
        return Ok(());
    }
    Err(TemplateError::ArgCount {
        name: name.to_owned(),
        expected,
        got: args.len(),
    })
}

fn string_arg<'a>(value: &'a Value, name: &str) -> Result<&'a str, TemplateError> {
    value
        .as_str()
        .ok_or_else(|| TemplateError::Exec(format!("{name} takes a string, not {value}")))
}

fn to_json(args: &[Value]) -> gotmpl::Result<Value> {
    arity(args, "json", 1)?;
    Ok(Value::String(to_serde(&args[0]).to_string().into()))
}

fn text_op(args: &[Value], name: &str, op: fn(&str) -> String) -> gotmpl::Result<Value> {
    arity(args, name, 1)?;
    let text = args[0].to_string();
    Ok(Value::String(op(&text).into()))
}

fn title(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn join(args: &[Value]) -> gotmpl::Result<Value> {
    arity(args, "join", 2)?;
    let Value::List(items) = &args[0] else {
        return Err(TemplateError::Exec(format!(
            "join takes a list, not {}",
            args[0]
        )));
    };
    let separator = string_arg(&args[1], "join")?;
    let words: Vec<String> = items.iter().map(ToString::to_string).collect();
    Ok(Value::String(words.join(separator).into()))
}

fn split(args: &[Value]) -> gotmpl::Result<Value> {
    arity(args, "split", 2)?;
    let text = string_arg(&args[0], "split")?;
    let separator = string_arg(&args[1], "split")?;
    Ok(Value::List(
        text.split(separator)
            .map(|part| Value::String(part.into()))
            .collect(),
    ))
}

fn truncate(args: &[Value]) -> gotmpl::Result<Value> {
    arity(args, "truncate", 2)?;
    let text = args[0].to_string();
    let length = args[1]
        .as_int()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| TemplateError::Exec("truncate takes a length".to_owned()))?;
    Ok(Value::String(
        text.chars().take(length).collect::<String>().into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rendered(source: &str, data: serde_json::Value) -> String {
        compile(source)
            .expect("parses")
            .render(&data)
            .expect("renders")
    }

    #[test]
    fn templates_read_docker_fields_and_functions() {
        let data = json!({"ID": "abc", "Names": "web", "State": {"Status": "running"},
                          "Ports": ["80/tcp", "443/tcp"]});
        assert_eq!(rendered("{{.Names}}", data.clone()), "web");
        assert_eq!(rendered("{{.State.Status}}", data.clone()), "running");
        assert_eq!(rendered("{{.ID}}\\t{{.Names}}", data.clone()), "abc\tweb");
        assert_eq!(
            rendered("{{json .State}}", data.clone()),
            r#"{"Status":"running"}"#
        );
        assert_eq!(rendered("{{upper .Names}}", data.clone()), "WEB");
        assert_eq!(
            rendered("{{join .Ports \", \"}}", data.clone()),
            "80/tcp, 443/tcp"
        );
        assert_eq!(rendered("{{truncate .ID 2}}", data.clone()), "ab");
        assert_eq!(rendered("{{title .Names}}", data), "Web");
    }

    #[test]
    fn an_unknown_field_or_a_broken_template_is_an_error() {
        let template = compile("{{.Nope}}").expect("parses");
        let error = template
            .render(&json!({"ID": "x"}))
            .expect_err("no such field");
        assert!(error.contains("Nope"), "{error}");
        let error = parse_format("{{.ID").expect_err("unclosed");
        assert!(error.starts_with("template parsing error"), "{error}");
    }

    #[test]
    fn table_templates_get_a_header_and_aligned_columns() {
        let Format::Template { table: true, .. } =
            parse_format("table {{.ID}}\\t{{.Names}}").expect("parses")
        else {
            panic!("a table template");
        };
        assert!(matches!(parse_format("json"), Ok(Format::Json)));
        assert!(matches!(parse_format("table"), Ok(Format::Table)));
        assert!(matches!(
            parse_format("tablet {{.ID}}"),
            Ok(Format::Template { table: false, .. })
        ));
        assert_eq!(
            aligned("CONTAINER ID\tNAMES\nab\tweb\n").expect("aligns"),
            "CONTAINER ID   NAMES\nab             web\n"
        );
        assert_eq!(
            aligned("NAMES\tSTATE\nweb\trunning\n").expect("aligns"),
            "NAMES     STATE\nweb       running\n"
        );
    }
}
