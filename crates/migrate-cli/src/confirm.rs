//! The typed-confirmation guard in front of every destructive step: the operator types the exact
//! name of what will be destroyed (a URL, a database), then confirms once more. Without a
//! terminal, the same text must be passed as a flag; otherwise the step is refused.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set while the operator is being asked, so Ctrl-C at the prompt ends the process at once
/// (nothing has been changed yet) instead of waiting for the blocked prompt.
static PROMPTING: AtomicBool = AtomicBool::new(false);

/// Whether a confirmation prompt is on the screen.
pub(crate) fn prompting() -> bool {
    PROMPTING.load(Ordering::SeqCst)
}

/// How the operator confirms a destructive step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// Given on the command line (`--confirm-text`): must equal the expected text exactly.
    Text(String),
    /// Asked on the terminal: type the expected text, then confirm again.
    Interactive,
    /// Neither is possible (no terminal and no text given): always refused.
    Unavailable,
}

impl Confirmation {
    /// The text from a flag when given; otherwise the terminal when stdin and stderr are one.
    pub fn from_flag(text: Option<String>) -> Self {
        match text {
            Some(text) => Confirmation::Text(text),
            None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
                Confirmation::Interactive
            }
            None => Confirmation::Unavailable,
        }
    }

    /// `Ok` only when the operator gave exactly `ask.expected` (and, on a terminal, answered
    /// yes to `ask.question` after seeing `ask.summary`); otherwise why the step is refused.
    pub fn check(&self, ask: &Ask<'_>) -> Result<(), String> {
        let Ask { expected, what, flag, .. } = ask;
        match self {
            Confirmation::Text(text) if text == expected => Ok(()),
            Confirmation::Text(text) => Err(format!("{flag} {text:?} is not {what} {expected:?}")),
            Confirmation::Unavailable => Err(format!(
                "no terminal to confirm on: pass {flag} '{expected}' to confirm non-interactively"
            )),
            Confirmation::Interactive => {
                PROMPTING.store(true, Ordering::SeqCst);
                let answer = prompt(ask);
                PROMPTING.store(false, Ordering::SeqCst);
                answer
            }
        }
    }
}

/// What the operator is asked to confirm.
#[derive(Debug, Clone, Copy)]
pub struct Ask<'a> {
    /// The exact text to type: the name of what will be destroyed (`gs://bucket/prefix/`).
    pub expected: &'a str,
    /// What that text is, for messages (`the source URL`).
    pub what: &'a str,
    /// Shown before the prompt: what will happen.
    pub summary: &'a str,
    /// The second question, answered yes or no.
    pub question: &'a str,
    /// The option that confirms without a terminal (`--confirm-text`).
    pub flag: &'a str,
}

fn prompt(ask: &Ask<'_>) -> Result<(), String> {
    eprintln!("{}", ask.summary);
    let typed: String = dialoguer::Input::new()
        .with_prompt(format!("Type {} to confirm ({})", ask.what, ask.expected))
        .allow_empty(true)
        .interact_text()
        .map_err(prompt_failed)?;
    if typed.trim() != ask.expected {
        return Err(format!("typed {typed:?}, not {}", ask.what));
    }
    let sure = dialoguer::Confirm::new()
        .with_prompt(ask.question)
        .default(false)
        .interact()
        .map_err(prompt_failed)?;
    if sure { Ok(()) } else { Err("not confirmed".into()) }
}

fn prompt_failed(e: dialoguer::Error) -> String {
    match e {
        dialoguer::Error::IO(e) if e.kind() == std::io::ErrorKind::Interrupted => {
            "interrupted at the prompt (Ctrl-C)".into()
        }
        e => format!("confirmation prompt failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Ask, Confirmation};

    const URL: &str = "gs://data-bucket-prod/QPI_exports/";

    #[test]
    fn only_the_exact_text_confirms_without_a_terminal() {
        let ask =
            Ask { expected: URL, what: "the source URL", summary: "", question: "", flag: "--confirm-text" };
        let check = |c: Confirmation| c.check(&ask);
        assert_eq!(check(Confirmation::Text(URL.into())), Ok(()));
        let wrong = check(Confirmation::Text("gs://data-bucket-prod/QPI_exports".into())).unwrap_err();
        assert!(wrong.contains("is not the source URL \"gs://data-bucket-prod/QPI_exports/\""), "{wrong}");
        let none = check(Confirmation::Unavailable).unwrap_err();
        assert!(none.contains(&format!("pass --confirm-text '{URL}'")), "{none}");
    }
}
