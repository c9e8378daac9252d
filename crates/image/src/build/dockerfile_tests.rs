//! Tests of the Dockerfile parser and word rules.

use super::dockerfile::{Vars, json_array, name_values, parse, take_flags, word, words};
use super::error::InstructionError;

fn vars(pairs: &[(&str, &str)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn continuations_comments_and_case() {
    let text = "# syntax=docker/dockerfile:1\n\
                from scratch\n\
                \n\
                # a comment\n\
                COPY a \\\n\
                # comment inside\n\
                \x20    b /dst/\n\
                Cmd [\"x\"]\n";
    let parsed = parse(text).expect("parse");
    let got: Vec<(usize, &str, &str)> = parsed
        .instructions
        .iter()
        .map(|i| (i.line, i.keyword.as_str(), i.args.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, "FROM", "scratch"),
            (5, "COPY", "a      b /dst/"),
            (8, "CMD", "[\"x\"]"),
        ]
    );
    assert_eq!(parsed.escape, '\\');
}

#[test]
fn escape_directive() {
    let parsed = parse("# escape=`\nFROM scratch\nCOPY a `\n b /\n").expect("parse");
    assert_eq!(parsed.escape, '`');
    assert_eq!(parsed.instructions[1].args, "a  b /");
    let error = parse("# escape=x\nFROM scratch\n").expect_err("bad escape");
    assert_eq!(error, (1, InstructionError::BadEscape("x".into())));
    // Not at the top: an ordinary comment.
    let parsed = parse("FROM scratch\n# escape=`\nCOPY a \\\n b /\n").expect("parse");
    assert_eq!(parsed.escape, '\\');
    assert_eq!(parsed.instructions[1].args, "a  b /");
}

#[test]
fn json_and_shell_forms() {
    assert_eq!(
        json_array(r#"["/app.wasm", "--port", "80"]"#),
        Some(vec!["/app.wasm".into(), "--port".into(), "80".into()])
    );
    assert_eq!(json_array("/app.wasm --port 80"), None);
    assert_eq!(json_array("[not json"), None);
    assert_eq!(json_array("[1, 2]"), None, "only strings");
    let (flags, rest) = take_flags("--chmod=755 --link [\"a\", \"b\"]");
    assert_eq!(
        flags,
        vec![("chmod".into(), Some("755".into())), ("link".into(), None)]
    );
    assert_eq!(rest, "[\"a\", \"b\"]");
}

#[test]
fn words_quotes_escapes_and_variables() {
    let v = vars(&[("NAME", "app"), ("EMPTY", ""), ("TWO", "a b")]);
    let w = |s: &str| words(s, '\\', &v).expect("words");
    assert_eq!(w("$NAME.wasm /${NAME}/"), ["app.wasm", "/app/"]);
    assert_eq!(w(r#""x y" 'q $NAME' \$NAME"#), ["x y", "q $NAME", "$NAME"]);
    assert_eq!(w("${MISSING:-def} ${EMPTY:-e} ${EMPTY-e}"), ["def", "e"]);
    assert_eq!(w("${NAME:+set} ${MISSING:+set}x"), ["set", "x"]);
    assert_eq!(w("$TWO \"$TWO\""), ["a", "b", "a b"]);
    assert_eq!(w("${MISSING:-${NAME}}"), ["app"]);
    assert_eq!(w("cost$ 5"), ["cost$", "5"]);
    assert_eq!(
        word("  keep   spaces $NAME", '\\', &v).expect("word"),
        "  keep   spaces app"
    );
    assert!(matches!(
        words("${NAME", '\\', &v),
        Err(InstructionError::BadSubstitution(_))
    ));
    assert!(matches!(
        words("${NAME#x}", '\\', &v),
        Err(InstructionError::BadSubstitution(_))
    ));
    assert_eq!(
        words("${MISSING:?must be set}", '\\', &v),
        Err(InstructionError::RequiredVariable {
            name: "MISSING".into(),
            message: "must be set".into()
        })
    );
    assert_eq!(
        words("\"open", '\\', &v),
        Err(InstructionError::UnterminatedQuote('"'))
    );
}

#[test]
fn env_forms() {
    let v = vars(&[("OLD", "1")]);
    let pairs = name_values(r#"A=1 B="two words" C=$OLD D=${A}"#, '\\', &v, true).expect("pairs");
    let expected = [("A", "1"), ("B", "two words"), ("C", "1"), ("D", "")];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        pairs, expected,
        "a pair sees the variables before the instruction"
    );
    let legacy = name_values("GREETING hello   big world", '\\', &v, true).expect("legacy");
    assert_eq!(
        legacy,
        vec![("GREETING".to_string(), "hello   big world".to_string())]
    );
    assert_eq!(
        name_values("A=1 B", '\\', &v, true),
        Err(InstructionError::NotNameValue("B".into()))
    );
}
