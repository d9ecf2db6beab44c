//! Reading the files a command is given. Only regular files are read: a
//! named pipe blocks in `open` until a writer comes, and a device such as
//! `/dev/zero` never ends. Every file of one command is charged to one byte
//! budget ([`Budget`]), read only up to what is left of it plus one byte, so
//! an oversized or endless input costs no more memory than the budget.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::compile::Input;
use crate::diagnostics::{self as codes, InputError};

fn unreadable(path: &Path, error: &std::io::Error) -> InputError {
    InputError::new(
        path.display().to_string(),
        codes::UNREADABLE,
        format!("cannot read: {error}"),
    )
}

fn not_regular(path: &Path, what: &str) -> InputError {
    InputError::new(
        path.display().to_string(),
        codes::UNREADABLE,
        format!("{what}, not a regular file: only regular files are read"),
    )
    .hint("pass the manifest files, or a directory that holds them")
}

/// What a file that is not a regular file is, for messages.
fn kind_of(file_type: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
        if file_type.is_socket() {
            return "a socket";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Refuses anything but a regular file (symbolic links followed) before it
/// is opened.
fn check_regular(path: &Path) -> Result<(), InputError> {
    let metadata = fs::metadata(path).map_err(|e| unreadable(path, &e))?;
    if metadata.is_file() {
        Ok(())
    } else {
        Err(not_regular(path, kind_of(metadata.file_type())))
    }
}

/// The bytes a command may still read, shared by all its files.
#[derive(Debug, Clone)]
pub struct Budget {
    limit: usize,
    remaining: usize,
    /// A read found more bytes than were left.
    crossed: bool,
}

impl Budget {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            remaining: limit,
            crossed: false,
        }
    }

    /// Whether a read found more bytes than the budget had left.
    pub fn is_crossed(&self) -> bool {
        self.crossed
    }

    /// Reads a regular file: at most what is left of the budget plus one
    /// byte, so a caller sees that it crossed the budget without the excess.
    pub fn read_file(&mut self, path: &Path) -> Result<Vec<u8>, InputError> {
        check_regular(path)?;
        let file = File::open(path).map_err(|e| unreadable(path, &e))?;
        // Sized up front: growing by doubling would hold up to twice the
        // budget in memory while reading an oversized file.
        let cap = self.cap();
        let size = file.metadata().map_or(0, |m| m.len()).min(cap);
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        file.take(cap)
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(path, &e))?;
        self.charge(bytes.len());
        Ok(bytes)
    }

    /// Reads standard input within the budget, as [`Budget::read_file`].
    pub fn read_stdin(&mut self) -> Result<Vec<u8>, InputError> {
        let mut bytes = Vec::new();
        std::io::stdin()
            .take(self.cap())
            .read_to_end(&mut bytes)
            .map_err(|e| unreadable(Path::new("-"), &e))?;
        self.charge(bytes.len());
        Ok(bytes)
    }

    /// One input read whole as UTF-8 text: a file, or standard input for
    /// `-`; `what` names it in messages ("the images file"). Refused when it
    /// takes the reads over the budget.
    pub fn read_text(&mut self, path: &Path, what: &str) -> Result<String, InputError> {
        let bytes = if path.as_os_str() == "-" {
            self.read_stdin()?
        } else {
            self.read_file(path)?
        };
        let place = path.display().to_string();
        if self.crossed {
            return Err(InputError::new(
                place,
                codes::INPUT_LIMIT,
                format!(
                    "{what} takes the inputs over the limit of {} bytes",
                    self.limit
                ),
            ));
        }
        String::from_utf8(bytes).map_err(|e| {
            InputError::new(
                place,
                codes::UNREADABLE,
                format!(
                    "{what} is not UTF-8 text (byte {})",
                    e.utf8_error().valid_up_to()
                ),
            )
        })
    }

    fn cap(&self) -> u64 {
        self.remaining as u64 + 1
    }

    fn charge(&mut self, read: usize) {
        self.crossed |= read > self.remaining;
        self.remaining = self.remaining.saturating_sub(read);
    }
}

/// The inputs named on a command line: files, directories (their manifest
/// files, recursively, sorted) and `-` for standard input.
#[derive(Debug, Default)]
pub struct Inputs {
    pub inputs: Vec<Input>,
    /// Entries of a directory that were skipped, with the reason (a named
    /// pipe among the manifests, say): printed as notes.
    pub skipped: Vec<String>,
}

/// Reads `paths` within `budget`. The input that crosses the budget is read
/// only up to it plus one byte, and nothing after it, so the compiler reports
/// the breach (`MG002`) without the excess in memory. A path given by name
/// that is not a regular file is an error; inside a directory such an entry
/// is skipped with a note.
pub fn read_paths(paths: &[PathBuf], budget: &mut Budget) -> Result<Inputs, InputError> {
    read_paths_beside(paths, None, budget)
}

/// [`read_paths`] for a command that also reads an images file, which may
/// sit in an input directory: there it is skipped with a note, not read as
/// a manifest. Named on its own as an input, it is read.
pub fn read_paths_beside(
    paths: &[PathBuf],
    images_file: Option<&Path>,
    budget: &mut Budget,
) -> Result<Inputs, InputError> {
    let images_file = images_file.and_then(|path| fs::canonicalize(path).ok());
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            files.push(path.clone());
            continue;
        }
        let metadata = fs::metadata(path).map_err(|e| unreadable(path, &e))?;
        if metadata.is_dir() {
            let before = files.len();
            collect_dir(path, images_file.as_deref(), &mut files, &mut skipped)?;
            if files.len() == before {
                return Err(InputError::new(
                    path.display().to_string(),
                    codes::UNREADABLE,
                    "the directory holds no .yaml, .yml or .json files".into(),
                ));
            }
        } else if metadata.is_file() {
            files.push(path.clone());
        } else {
            return Err(not_regular(path, kind_of(metadata.file_type())));
        }
    }
    let mut inputs = Vec::new();
    for path in files {
        let (name, bytes) = if path.as_os_str() == "-" {
            ("-".to_owned(), budget.read_stdin()?)
        } else {
            (path.display().to_string(), budget.read_file(&path)?)
        };
        inputs.push(Input::new(name, bytes));
        if budget.is_crossed() {
            break;
        }
    }
    Ok(Inputs { inputs, skipped })
}

/// Files beside manifests that are no Kubernetes objects, by name: read as
/// objects they would fail the command (a kustomization needs no kind, a
/// chart's metadata has none).
const NOT_OBJECTS: &[(&str, &str)] = &[
    ("kustomization.yaml", "a kustomization"),
    ("kustomization.yml", "a kustomization"),
    ("Chart.yaml", "a Helm chart's metadata"),
];

/// Manifest files under `dir`, sorted, skipping hidden entries and not
/// following symbolic links to directories (no cycles). An entry with a
/// manifest's extension that is not a regular file, a file of
/// [`NOT_OBJECTS`], or the images file (a canonical path) is skipped with a
/// reason.
fn collect_dir(
    dir: &Path,
    images_file: Option<&Path>,
    out: &mut Vec<PathBuf>,
    skipped: &mut Vec<String>,
) -> Result<(), InputError> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| unreadable(dir, &e))? {
        entries.push(entry.map_err(|e| unreadable(dir, &e))?.path());
    }
    entries.sort();
    for path in entries {
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        let own = fs::symlink_metadata(&path).map_err(|e| unreadable(&path, &e))?;
        if own.is_dir() {
            collect_dir(&path, images_file, out, skipped)?;
            continue;
        }
        let manifest = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        if !manifest {
            continue;
        }
        let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if let Some((_, what)) = NOT_OBJECTS.iter().find(|(name, _)| *name == file_name) {
            skipped.push(format!(
                "{}: skipped: {what}, not a Kubernetes object",
                path.display()
            ));
            continue;
        }
        if images_file.is_some_and(|images| fs::canonicalize(&path).is_ok_and(|p| p == images)) {
            skipped.push(format!(
                "{}: skipped: read as the images file",
                path.display()
            ));
            continue;
        }
        // Symbolic links to files are inputs; what they point at must be a
        // regular file too.
        match fs::metadata(&path) {
            Ok(target) if target.is_file() => out.push(path),
            Ok(target) => skipped.push(format!(
                "{}: skipped: {}, not a regular file",
                path.display(),
                kind_of(target.file_type())
            )),
            Err(e) => return Err(unreadable(&path, &e)),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_past_the_budget_is_marked_and_holds_one_byte_more() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.yaml");
        fs::write(&file, "0123456789").unwrap();
        let mut budget = Budget::new(15);
        assert_eq!(budget.read_file(&file).unwrap().len(), 10);
        assert!(!budget.is_crossed());
        assert_eq!(budget.read_file(&file).unwrap().len(), 6);
        assert!(budget.is_crossed());
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_before_they_are_opened() {
        let mut budget = Budget::new(100);
        let error = budget.read_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(error.code, codes::UNREADABLE);
        assert!(
            error.message.starts_with("a device, not a regular file"),
            "{error}"
        );
        let error = read_paths(&[PathBuf::from("/dev/null")], &mut budget).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("/dev/null: error[MG003]: a device"),
            "{error}"
        );
    }
}
