#include "ccurl.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ccurl_session {
    CURL *easy;
};

// curl_global_init is not guaranteed thread-safe on every build; run it once.
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_status = CURLE_FAILED_INIT;

static void global_init(void) { global_status = curl_global_init(CURL_GLOBAL_DEFAULT); }

ccurl_session *ccurl_session_new(void) {
    pthread_once(&global_once, global_init);
    if (global_status != CURLE_OK) return NULL;
    ccurl_session *session = calloc(1, sizeof(ccurl_session));
    if (session == NULL) return NULL;
    session->easy = curl_easy_init();
    if (session->easy == NULL) {
        free(session);
        return NULL;
    }
    return session;
}

void ccurl_session_free(ccurl_session *session) {
    if (session == NULL) return;
    curl_easy_cleanup(session->easy);
    free(session);
}

const char *ccurl_version(void) { return curl_version(); }

// Adapters from libcurl's callback signatures to the shim's.

static size_t header_adapter(char *data, size_t size, size_t count, void *userdata) {
    const ccurl_request *request = userdata;
    size_t length = size * count;
    if (request->on_header == NULL) return length;
    return request->on_header(request->context, data, length);
}

static size_t body_adapter(char *data, size_t size, size_t count, void *userdata) {
    const ccurl_request *request = userdata;
    size_t length = size * count;
    if (request->on_body == NULL) return length;
    return request->on_body(request->context, data, length);
}

static int tick_adapter(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                        curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const ccurl_request *request = userdata;
    if (request->on_tick == NULL) return 0;
    return request->on_tick(request->context);
}

static ccurl_failure classify(CURLcode code) {
    switch (code) {
    case CURLE_OK:
        return CCURL_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return CCURL_RESOLVE_FAILED;
    case CURLE_COULDNT_CONNECT:
        return CCURL_CONNECT_FAILED;
    case CURLE_OPERATION_TIMEDOUT:
        return CCURL_TIMED_OUT;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return CCURL_CONNECTION_BROKEN;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
        return CCURL_TLS_FAILED;
    case CURLE_WRITE_ERROR:
        return CCURL_ABORTED_BY_CALLBACK_WRITE;
    case CURLE_ABORTED_BY_CALLBACK:
        return CCURL_ABORTED_BY_CALLBACK_TICK;
    case CURLE_UNSUPPORTED_PROTOCOL:
        return CCURL_REFUSED_PROTOCOL;
    default:
        return CCURL_OTHER;
    }
}

// http and https only, for the request and (should following ever be enabled) redirects.
static void restrict_protocols(CURL *easy) {
#if LIBCURL_VERSION_NUM >= 0x075500 // 7.85.0 added the _STR options and deprecated the bitmasks
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(easy, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

void ccurl_perform(ccurl_session *session, const ccurl_request *request, ccurl_result *result) {
    memset(result, 0, sizeof(*result));
    CURL *easy = session->easy;
    // Reset options but keep the connection cache, so sequential requests to the
    // hub reuse one TCP/TLS connection.
    curl_easy_reset(easy);

    char error_buffer[CURL_ERROR_SIZE];
    error_buffer[0] = '\0';

    struct curl_slist *header_list = NULL;
    for (size_t i = 0; i < request->header_count; i++) {
        struct curl_slist *next = curl_slist_append(header_list, request->headers[i]);
        if (next == NULL) {
            curl_slist_free_all(header_list);
            result->failure = CCURL_OTHER;
            result->curl_code = CURLE_OUT_OF_MEMORY;
            snprintf(result->message, sizeof(result->message), "out of memory building headers");
            return;
        }
        header_list = next;
    }

    curl_easy_setopt(easy, CURLOPT_URL, request->url);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
    restrict_protocols(easy);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, header_list);
    if (request->head_only) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
    if (request->connect_timeout_ms > 0)
        curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, request->connect_timeout_ms);
    if (request->total_timeout_ms > 0) curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, request->total_timeout_ms);
    if (request->stall_timeout_s > 0) {
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, request->stall_timeout_s);
    }
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_adapter);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, (void *)request);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, body_adapter);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, (void *)request);
    curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, tick_adapter);
    curl_easy_setopt(easy, CURLOPT_XFERINFODATA, (void *)request);

    CURLcode code = curl_easy_perform(easy);

    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    result->status = status;
    result->curl_code = (int)code;
    result->failure = classify(code);
    if (code != CURLE_OK) {
        const char *text = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
        snprintf(result->message, sizeof(result->message), "%s", text);
    }

    // The options point at this call's memory; clear them before returning.
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(header_list);
}
