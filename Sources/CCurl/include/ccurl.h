#pragma once
// A small, non-variadic C surface over libcurl for Swift.
//
// Why: curl_easy_setopt/curl_easy_getinfo are variadic and cannot be called from
// Swift. This shim performs one HTTP request per call with every option passed in
// a plain struct, reporting headers, body bytes and progress through C callbacks
// that carry an opaque context pointer. Redirects are NOT followed here: the Swift
// side follows them itself so it can read hub headers on the redirect response and
// drop credentials when the redirect leaves the hub's origin. Only http and https
// are enabled (CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR): Debian's
// libcurl also speaks file, gopher, dict, ftp, smtp..., which a hostile Location or
// HF_ENDPOINT could otherwise use to read local files or reach internal services.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// One reusable connection context (wraps a CURL easy handle, which keeps its
/// connection cache between requests). Not thread-safe: use one per thread.
typedef struct ccurl_session ccurl_session;

/// Creates a session; NULL when libcurl cannot be initialised.
ccurl_session *ccurl_session_new(void);
void ccurl_session_free(ccurl_session *session);

/// Called once per received header line (status line included), without CRLF
/// stripping. Return `length` to continue, anything else aborts the transfer.
typedef size_t (*ccurl_header_callback)(void *context, const char *data, size_t length);
/// Called with body bytes. Return `length` to continue, anything else aborts
/// (the request then ends with CCURL_ABORTED_BY_CALLBACK_WRITE).
typedef size_t (*ccurl_body_callback)(void *context, const char *data, size_t length);
/// Called periodically (also while idle). Return non-zero to abort the transfer.
typedef int (*ccurl_tick_callback)(void *context);

typedef struct ccurl_request {
    const char *url;
    /// 1: HEAD (no body); 0: GET.
    int head_only;
    /// Full header lines ("Name: value").
    const char *const *headers;
    size_t header_count;
    /// Connection establishment limit in milliseconds (0: libcurl's default).
    long connect_timeout_ms;
    /// Abort when fewer than 1 byte/s arrives for this many seconds (0: never).
    long stall_timeout_s;
    /// Whole-request limit in milliseconds (0: none). Used for metadata calls only.
    long total_timeout_ms;
    ccurl_header_callback on_header;
    ccurl_body_callback on_body;
    ccurl_tick_callback on_tick;
    void *context;
} ccurl_request;

/// Classification of a failed transfer, so Swift need not know CURLcode numbers.
typedef enum ccurl_failure {
    CCURL_OK = 0,
    /// Host name could not be resolved (no network, wrong HF_ENDPOINT).
    CCURL_RESOLVE_FAILED = 1,
    /// TCP connection refused or unreachable.
    CCURL_CONNECT_FAILED = 2,
    /// Timeout or stall.
    CCURL_TIMED_OUT = 3,
    /// The connection broke mid-transfer (partial body, reset, empty reply).
    CCURL_CONNECTION_BROKEN = 4,
    /// TLS handshake or certificate problem.
    CCURL_TLS_FAILED = 5,
    /// The body callback refused bytes (e.g. the disk is full).
    CCURL_ABORTED_BY_CALLBACK_WRITE = 6,
    /// The tick callback asked to stop (cancellation).
    CCURL_ABORTED_BY_CALLBACK_TICK = 7,
    /// Anything else (malformed URL, out of memory, protocol error...).
    CCURL_OTHER = 8,
    /// The URL's scheme is not http or https (libcurl refused it before any I/O).
    CCURL_REFUSED_PROTOCOL = 9,
} ccurl_failure;

typedef struct ccurl_result {
    ccurl_failure failure;
    /// The raw CURLcode, for messages.
    int curl_code;
    /// HTTP status of the last response (0 when none arrived).
    long status;
    /// Human-readable libcurl error text (empty on success).
    char message[256];
} ccurl_result;

/// Performs one request synchronously on the calling thread.
void ccurl_perform(ccurl_session *session, const ccurl_request *request, ccurl_result *result);

/// libcurl's version string, for logs.
const char *ccurl_version(void);

#ifdef __cplusplus
}
#endif
