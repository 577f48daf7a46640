// SQLite (Debian libsqlite3-dev 3.40), the run store.
#include <sqlite3.h>
