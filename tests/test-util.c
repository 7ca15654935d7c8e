/* test-util.c: errors, the allocation hook's helpers, arenas, byte buffers, whole-file I/O (size
 * limits, atomic writes) and data-path lookup. */
#include "harness.h"
#include "tactus.h"

#include <sys/stat.h>
#include <unistd.h>

static void test_errors(void)
{
    tx_error e;
    CHECK_INT(tx_error_set(&e, TX_EMIDI, "%s: track %d, byte %d: %s", "a.mid", 3, 1042, "bad"), TX_EMIDI);
    CHECK_STR(e.msg, "a.mid: track 3, byte 1042: bad");
    CHECK_INT(e.track, -1);
    CHECK_INT(tx_error_set(NULL, TX_EIO, "x"), TX_EIO);
    tx_error_clear(&e);
    CHECK_INT(e.code, TX_OK);
    CHECK_STR(e.msg, "");
    CHECK_STR(tx_strerror(TX_ENOMEM), "out of memory");
    CHECK_STR(tx_strerror(999), "unknown error");
    /* a long message is cut, not overflowed */
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tx_error_set(&e, TX_EIO, "%s", big);
    CHECK_INT(strlen(e.msg), TX_ERROR_MSG_MAX - 1);
}

static void test_arena_buf(void)
{
    tx_arena a = TX_ARENA_INIT;
    char *p = NULL;
    for (int i = 0; i < 10000; i++) {
        p = tx_arena_printf(&a, "string %d", i);
        CHECK(((uintptr_t)p & 15) == 0 || i > 0);
    }
    CHECK_STR(p, "string 9999");
    void *big = tx_arena_alloc(&a, 1 << 20);
    CHECK(big != NULL && ((uintptr_t)big & 15) == 0);
    CHECK_STR(tx_arena_strndup(&a, "abcdef", 3), "abc");
    tx_arena_free(&a);
    tx_arena_free(&a);   /* freeing twice is harmless: the arena is reset */

    tx_buf b = TX_BUF_INIT;
    tx_buf_puts(&b, "a");
    tx_buf_printf(&b, "%d-%s", 42, "b");
    tx_buf_putc(&b, '!');
    CHECK_STR(b.data, "a42-b!");
    CHECK_INT(b.len, 6);
    tx_buf_reset(&b);
    tx_buf_json_string(&b, "q\"\\\n\x7f");
    CHECK_STR(b.data, "\"q\\\"\\\\\\n\x7f\"");
    tx_buf_free(&b);

    int *arr = NULL;
    size_t cap = 0;
    CHECK_INT(tx_grow((void **)&arr, &cap, 100, sizeof *arr), 0);
    CHECK(cap >= 100);
    CHECK_INT(tx_grow((void **)&arr, &cap, SIZE_MAX / 2, sizeof *arr), -1);   /* overflow refused */
    CHECK(arr != NULL && cap >= 100);
    tx_free(arr);
    CHECK(tx_calloc(SIZE_MAX / 4, 8) == NULL);
}

static void test_files(void)
{
    char dir[] = "/tmp/tactus-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], other[256];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    tx_error err;
    CHECK_INT(tx_write_file_atomic(path, "hello", 5, &err), TX_OK);
    uint8_t *data;
    size_t len;
    CHECK_INT(tx_read_file(path, 100, &data, &len, &err), TX_OK);
    CHECK_INT(len, 5);
    CHECK(memcmp(data, "hello", 5) == 0 && data[5] == 0);
    tx_free(data);
    CHECK_INT(tx_read_file(path, 4, &data, &len, &err), TX_ELIMIT);
    CHECK(data == NULL);
    snprintf(other, sizeof other, "%s/missing", dir);
    CHECK_INT(tx_read_file(other, 100, &data, &len, &err), TX_EIO);
    char want[300];
    snprintf(want, sizeof want, "%s: No such file or directory", other);
    CHECK_STR(err.msg, want);
    CHECK_INT(tx_read_file(dir, 100, &data, &len, &err), TX_EIO);
    snprintf(want, sizeof want, "%s: is a directory", dir);
    CHECK_STR(err.msg, want);
    /* a failed atomic write leaves the old file and no temporary behind */
    snprintf(other, sizeof other, "%s/no/such/f.bin", dir);
    CHECK_INT(tx_write_file_atomic(other, "x", 1, &err), TX_EIO);
    mode_t old = umask(022);
    CHECK_INT(tx_write_file_atomic(path, "replaced", 8, &err), TX_OK);
    umask(old);
    CHECK_INT(tx_read_file(path, 100, &data, &len, &err), TX_OK);
    CHECK_INT(len, 8);
    tx_free(data);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0644);   /* the usual mode for the umask, not mkstemp's 0600 */
    unlink(path);
    CHECK_INT(rmdir(dir), 0);   /* empty: no temporary files left */
}

static void test_paths(void)
{
    char buf[16];
    CHECK_STR(tx_basename("a/b/c.mid"), "c.mid");
    CHECK_STR(tx_basename("c.mid"), "c.mid");
    CHECK_STR(tx_extension("a/b/Song.MID", buf, sizeof buf), "mid");
    CHECK_STR(tx_extension("a.b/noext", buf, sizeof buf), "");
    CHECK_STR(tx_extension(".hidden", buf, sizeof buf), "");
    CHECK_INT(tx_format_from_path("x.Midi"), TX_FORMAT_MIDI);
    CHECK_INT(tx_format_from_path("x.abc"), TX_FORMAT_ABC);
    CHECK_INT(tx_format_from_path("x.txt"), TX_FORMAT_UNKNOWN);
    CHECK_INT(tx_format_detect((const uint8_t *)"MThd", 4, "x.abc"), TX_FORMAT_MIDI);
    CHECK_INT(tx_format_detect((const uint8_t *)"X:1", 3, "x.abc"), TX_FORMAT_ABC);
    /* the sample corpus is found beside the sources (or installed) */
    char *p = tx_data_path("corpora/sample/SOURCE.md");
    CHECK(p != NULL);
    tx_free(p);
    CHECK(tx_data_path("no/such/file") == NULL);
    /* $TACTUS_DATA comes first */
    setenv("TACTUS_DATA", "/", 1);
    p = tx_data_path("tmp");
    CHECK_STR(p, "//tmp");
    tx_free(p);
    unsetenv("TACTUS_DATA");
    CHECK(strlen(tx_version()) >= 5);
}

/* SHA-256 against the FIPS 180-4 / NIST examples, streamed in uneven pieces too */
static void test_sha256(void)
{
    static const struct { const char *msg; size_t repeat; const char *hex; } v[] = {
        {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        tx_sha256_ctx h;
        tx_sha256_init(&h);
        size_t n = strlen(v[i].msg);
        for (size_t r = 0; r < v[i].repeat; r++)
            for (size_t k = 0; k < n; k += 7)
                tx_sha256_update(&h, v[i].msg + k, n - k < 7 ? n - k : 7);
        uint8_t d[TX_SHA256_SIZE];
        char hex[TX_SHA256_HEX_SIZE];
        tx_sha256_final(&h, d);
        CHECK_STR(tx_sha256_hex(d, hex), v[i].hex);
        if (v[i].repeat == 1) {
            tx_sha256(v[i].msg, n, d);
            CHECK_STR(tx_sha256_hex(d, hex), v[i].hex);
        }
    }
}

static int keep_mid(const char *path, void *ud)
{
    (*(int *)ud)++;
    return tx_format_from_path(path) == TX_FORMAT_MIDI;
}

static void test_find_files(void)
{
    char dir[] = "/tmp/tactus-find-XXXXXX", p[256];
    CHECK(mkdtemp(dir) != NULL);
    static const char *const names[] = {"b.mid", "a/z.MID", "a/y.txt", ".hidden/x.mid", "a/.x.mid", "c.mid"};
    snprintf(p, sizeof p, "%s/a", dir);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/.hidden", dir);
    mkdir(p, 0755);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        CHECK_INT(tx_write_file_atomic(p, "x", 1, NULL), TX_OK);
    }
    snprintf(p, sizeof p, "%s/a/loop", dir);
    CHECK_INT(symlink(dir, p), 0);   /* a link back up: the walk must end */
    char **paths = NULL;
    size_t n = 0;
    int calls = 0;
    tx_error err;
    CHECK_INT(tx_find_files(dir, keep_mid, &calls, &paths, &n, &err), TX_OK);
    CHECK(calls > 0);
    /* the loop is not followed; hidden names are skipped; the rest is sorted */
    CHECK_INT(n, 3);
    char want[256];
    snprintf(want, sizeof want, "%s/a/z.MID", dir);
    CHECK_STR(paths[0], want);
    snprintf(want, sizeof want, "%s/b.mid", dir);
    CHECK(n == 3 && strcmp(paths[1], want) == 0);
    snprintf(want, sizeof want, "%s/c.mid", dir);
    CHECK(n == 3 && strcmp(paths[2], want) == 0);
    tx_free_paths(paths, n);
    /* a file as the root; a missing root is an error */
    paths = NULL;
    n = 0;
    snprintf(p, sizeof p, "%s/b.mid", dir);
    CHECK_INT(tx_find_files(p, NULL, NULL, &paths, &n, &err), TX_OK);
    CHECK_INT(n, 1);
    snprintf(p, sizeof p, "%s/missing", dir);
    CHECK_INT(tx_find_files(p, NULL, NULL, &paths, &n, &err), TX_EIO);
    CHECK_INT(n, 1);
    tx_free_paths(paths, n);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    CHECK_INT(system(p), 0);
}

int main(void)
{
    RUN(test_find_files);
    RUN(test_sha256);
    RUN(test_errors);
    RUN(test_arena_buf);
    RUN(test_files);
    RUN(test_paths);
    return tx_test_finish();
}
