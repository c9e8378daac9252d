//! Dockerfile text to instructions: parser directives, comments,
//! continuations, and the word rules (quotes, escapes, `$VAR` expansion).

use std::collections::BTreeMap;

use super::error::InstructionError;

/// The variables in scope: build args and environment, environment winning.
pub(crate) type Vars = BTreeMap<String, String>;

/// One instruction, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Instruction {
    /// The 1-based line the instruction starts on.
    pub line: usize,
    /// The instruction, upper case (`COPY`).
    pub keyword: String,
    /// Everything after the keyword, trimmed.
    pub args: String,
}

impl Instruction {
    /// The instruction as `history` records it.
    pub fn text(&self) -> String {
        format!("{} {}", self.keyword, self.args)
    }
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dockerfile {
    /// The escape character (`\` unless `# escape=` says otherwise).
    pub escape: char,
    /// The instructions in order.
    pub instructions: Vec<Instruction>,
}

/// Splits a Dockerfile into instructions. Parser directives are read only
/// at the very top: `# escape=` sets the escape character, `# syntax=` and
/// `# check=` are ignored. Comment lines are dropped, even in the middle of
/// a continuation, and so are blank lines inside one (as Docker does).
pub(crate) fn parse(text: &str) -> Result<Dockerfile, (usize, InstructionError)> {
    let mut escape = '\\';
    let mut directives = true;
    let mut instructions = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if directives {
            if let Some((key, value)) = directive(trimmed) {
                match key.to_ascii_lowercase().as_str() {
                    "escape" => {
                        escape = match value {
                            "\\" => '\\',
                            "`" => '`',
                            other => {
                                return Err((number, InstructionError::BadEscape(other.into())));
                            }
                        };
                        continue;
                    }
                    "syntax" | "check" => continue,
                    _ => {}
                }
            }
            directives = false;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let end = raw.trim_end();
        let (body, continues) = match end.strip_suffix(escape) {
            Some(body) => (body, true),
            None => (raw, false),
        };
        match &mut pending {
            Some((_, joined)) => joined.push_str(body),
            None => pending = Some((number, body.to_owned())),
        }
        if !continues && let Some((line, joined)) = pending.take() {
            instructions.push(split_keyword(line, &joined)?);
        }
    }
    if let Some((line, joined)) = pending.take()
        && !joined.trim().is_empty()
    {
        instructions.push(split_keyword(line, &joined)?);
    }
    Ok(Dockerfile {
        escape,
        instructions,
    })
}

/// `# key=value` at the top of the file.
fn directive(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('#')?.trim_start();
    let (key, value) = rest.split_once('=')?;
    let key = key.trim_end();
    let valid = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| (key, value.trim()))
}

fn split_keyword(line: usize, joined: &str) -> Result<Instruction, (usize, InstructionError)> {
    let body = joined.trim();
    let (keyword, args) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
    if !keyword.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err((line, InstructionError::Unknown(keyword.to_owned())));
    }
    Ok(Instruction {
        line,
        keyword: keyword.to_ascii_uppercase(),
        args: args.trim().to_owned(),
    })
}

/// The JSON (exec) form `["a", "b"]`, if `args` is one. Like Docker, text
/// that starts with `[` but is not a JSON array of strings is shell form.
pub(crate) fn json_array(args: &str) -> Option<Vec<String>> {
    if !args.starts_with('[') {
        return None;
    }
    serde_json::from_str(args).ok()
}

/// Leading `--name[=value]` flags, and what follows them.
pub(crate) fn take_flags(args: &str) -> (Vec<(String, Option<String>)>, &str) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    while let Some(after) = rest.strip_prefix("--") {
        let (flag, tail) = after.split_once(char::is_whitespace).unwrap_or((after, ""));
        match flag.split_once('=') {
            Some((name, value)) => flags.push((name.to_owned(), Some(value.to_owned()))),
            None => flags.push((flag.to_owned(), None)),
        }
        rest = tail.trim_start();
    }
    (flags, rest)
}

/// Splits on unquoted whitespace, keeping quotes and escapes in each piece
/// for [`words`] or [`word`] to process.
pub(crate) fn split_raw(input: &str, escape: char) -> Result<Vec<&str>, InstructionError> {
    let mut pieces = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut chars = input.char_indices();
    while let Some((at, c)) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some('"') if c == escape => {
                chars.next();
            }
            Some(_) => {}
            None if c.is_whitespace() => {
                if let Some(from) = start.take() {
                    pieces.push(&input[from..at]);
                }
            }
            None => {
                start.get_or_insert(at);
                if c == escape {
                    chars.next();
                } else if c == '"' || c == '\'' {
                    quote = Some(c);
                }
            }
        }
    }
    if let Some(q) = quote {
        return Err(InstructionError::UnterminatedQuote(q));
    }
    if let Some(from) = start {
        pieces.push(&input[from..]);
    }
    Ok(pieces)
}

/// Processes `input` as words, the way Docker does for COPY, WORKDIR and
/// friends: quotes removed, escapes applied, variables expanded, split on
/// unquoted whitespace (an unquoted expansion is split too).
pub(crate) fn words(
    input: &str,
    escape: char,
    vars: &Vars,
) -> Result<Vec<String>, InstructionError> {
    Lexer::new(escape, vars).run(input, true)
}

/// Processes `input` as one word: whitespace is kept.
pub(crate) fn word(input: &str, escape: char, vars: &Vars) -> Result<String, InstructionError> {
    Ok(Lexer::new(escape, vars).run(input, false)?.concat())
}

struct Lexer<'a> {
    escape: char,
    vars: &'a Vars,
    words: Vec<String>,
    current: String,
    in_word: bool,
    split: bool,
}

impl<'a> Lexer<'a> {
    fn new(escape: char, vars: &'a Vars) -> Self {
        Lexer {
            escape,
            vars,
            words: Vec::new(),
            current: String::new(),
            in_word: false,
            split: true,
        }
    }

    fn push(&mut self, c: char) {
        self.current.push(c);
        self.in_word = true;
    }

    /// A character that unquoted whitespace may split on.
    fn push_splittable(&mut self, c: char) {
        if self.split && c.is_whitespace() {
            if self.in_word {
                self.words.push(std::mem::take(&mut self.current));
                self.in_word = false;
            }
        } else {
            self.push(c);
        }
    }

    fn run(mut self, input: &str, split: bool) -> Result<Vec<String>, InstructionError> {
        self.split = split;
        let mut chars = input.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' => {
                    self.in_word = true;
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(ch) => self.push(ch),
                            None => return Err(InstructionError::UnterminatedQuote('\'')),
                        }
                    }
                }
                '"' => {
                    self.in_word = true;
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('$') => {
                                let value = self.dollar(&mut chars)?;
                                self.current.push_str(&value);
                            }
                            Some(ch) if ch == self.escape => match chars.peek() {
                                Some(&next)
                                    if next == '"' || next == '$' || next == self.escape =>
                                {
                                    self.push(next);
                                    chars.next();
                                }
                                _ => self.push(ch),
                            },
                            Some(ch) => self.push(ch),
                            None => return Err(InstructionError::UnterminatedQuote('"')),
                        }
                    }
                }
                '$' => {
                    let value = self.dollar(&mut chars)?;
                    value.chars().for_each(|ch| self.push_splittable(ch));
                }
                ch if ch == self.escape => {
                    if let Some(next) = chars.next() {
                        self.push(next);
                    }
                }
                ch => self.push_splittable(ch),
            }
        }
        if self.in_word || !self.current.is_empty() {
            self.words.push(self.current);
        }
        Ok(self.words)
    }

    /// Expands what follows a `$`: `NAME`, `{NAME}`, `{NAME:-word}`,
    /// `{NAME-word}`, `{NAME:+word}`, `{NAME+word}`, `{NAME:?msg}`,
    /// `{NAME?msg}`. A `$` before anything else is a literal `$`.
    fn dollar(
        &self,
        chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    ) -> Result<String, InstructionError> {
        match chars.peek() {
            Some('{') => {
                chars.next();
                let name = take_name(chars);
                let mut operator = String::new();
                if chars.peek() == Some(&':') {
                    operator.push(':');
                    chars.next();
                }
                if let Some(&op) = chars.peek()
                    && matches!(op, '-' | '+' | '?')
                {
                    operator.push(op);
                    chars.next();
                }
                let mut body = String::new();
                let mut depth = 0usize;
                let mut closed = false;
                for ch in chars.by_ref() {
                    match ch {
                        '}' if depth == 0 => {
                            closed = true;
                            break;
                        }
                        '}' => depth -= 1,
                        '{' => depth += 1,
                        _ => {}
                    }
                    body.push(ch);
                }
                let bad_body = operator.is_empty() && !body.is_empty();
                let whole = format!("${{{name}{operator}{body}}}");
                if !closed || name.is_empty() || bad_body || operator == ":" {
                    return Err(InstructionError::BadSubstitution(whole));
                }
                let value = self.vars.get(&name);
                let set = value.is_some();
                let non_empty = value.is_some_and(|v| !v.is_empty());
                let expand = |text: &str| word(text, self.escape, self.vars);
                match operator.as_str() {
                    "" => Ok(value.cloned().unwrap_or_default()),
                    ":-" if !non_empty => expand(&body),
                    "-" if !set => expand(&body),
                    ":-" | "-" => Ok(value.cloned().unwrap_or_default()),
                    ":+" if non_empty => expand(&body),
                    "+" if set => expand(&body),
                    ":+" | "+" => Ok(String::new()),
                    ":?" if !non_empty => Err(self.required(name, &body)?),
                    "?" if !set => Err(self.required(name, &body)?),
                    ":?" | "?" => Ok(value.cloned().unwrap_or_default()),
                    _ => Err(InstructionError::BadSubstitution(whole)),
                }
            }
            Some(&c) if c.is_ascii_alphabetic() || c == '_' => {
                let name = take_name(chars);
                Ok(self.vars.get(&name).cloned().unwrap_or_default())
            }
            _ => Ok("$".to_owned()),
        }
    }

    fn required(&self, name: String, body: &str) -> Result<InstructionError, InstructionError> {
        let message = word(body, self.escape, self.vars)?;
        let message = if message.is_empty() {
            "is not set".to_owned()
        } else {
            message
        };
        Ok(InstructionError::RequiredVariable { name, message })
    }
}

fn take_name(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_alphanumeric() || c == '_' {
            name.push(c);
            chars.next();
        } else {
            break;
        }
    }
    name
}

/// Whether `name` can be an ENV or ARG name.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '=' || c == '$')
}

/// `K=V K2="V 2"` pairs, or the legacy `K V with spaces` form when
/// `legacy` allows it (ENV and LABEL do). Keys and values are processed
/// as words with the variables in scope before the instruction.
pub(crate) fn name_values(
    args: &str,
    escape: char,
    vars: &Vars,
    legacy: bool,
) -> Result<Vec<(String, String)>, InstructionError> {
    let pieces = split_raw(args, escape)?;
    let first_has_equals = pieces.first().is_some_and(|p| p.contains('='));
    if legacy && !first_has_equals && !pieces.is_empty() {
        let (name, value) = args.split_once(char::is_whitespace).unwrap_or((args, ""));
        let name = word(name, escape, vars)?;
        return Ok(vec![(name, word(value.trim(), escape, vars)?)]);
    }
    pieces
        .into_iter()
        .map(|piece| {
            let (name, value) = piece
                .split_once('=')
                .ok_or_else(|| InstructionError::NotNameValue(piece.to_owned()))?;
            Ok((word(name, escape, vars)?, word(value, escape, vars)?))
        })
        .collect()
}
