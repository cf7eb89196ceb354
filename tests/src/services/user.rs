//! The system account a server runs as when the tests run as root (PostgreSQL refuses root).

use std::path::Path;

/// A user to switch to before exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Account {
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
}

impl Account {
    /// The account `name` from `/etc/passwd`, if there is one.
    pub(crate) fn lookup(name: &str) -> Option<Account> {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|line| parse_passwd_line(line, name))
    }

    /// Give `path` (not recursively) to this account.
    pub(crate) fn take(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .unwrap_or_else(|e| panic!("cannot chown {} to uid {}: {e}", path.display(), self.uid));
    }
}

/// `name:x:uid:gid:...` when the first field is `name`.
fn parse_passwd_line(line: &str, name: &str) -> Option<Account> {
    let mut fields = line.split(':');
    if fields.next()? != name {
        return None;
    }
    let _password = fields.next()?;
    Some(Account { uid: fields.next()?.parse().ok()?, gid: fields.next()?.parse().ok()? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passwd_line_gives_the_ids_of_its_user_only() {
        let line = "postgres:x:101:104:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash";
        assert_eq!(parse_passwd_line(line, "postgres"), Some(Account { uid: 101, gid: 104 }));
        assert_eq!(parse_passwd_line(line, "postgre"), None);
        assert_eq!(parse_passwd_line("broken", "broken"), None);
    }
}
