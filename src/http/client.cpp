#include "http/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>

#include "core/secret_bytes.h"
#include "core/strings.h"

namespace arca::http {

namespace {

std::once_flag g_curl_init;

// What the curl callbacks fill in for one transfer.
struct Transfer {
  ClientResponse* response = nullptr;
  std::size_t max_body_bytes = 0;
  bool body_too_large = false;
  const StreamSink* sink = nullptr;  // Stream(): the body goes here instead
  const std::atomic<bool>* cancel = nullptr;
  bool stopped = false;  // the sink or cancel ended the transfer
};

// Appends to the body without leaving copies of earlier bytes in freed memory: when the string must
// grow, the bytes move to a new buffer and the old one is wiped (the body may be a secret).
void AppendWiping(std::string& out, const char* data, std::size_t n) {
  if (out.size() + n > out.capacity()) {
    std::string bigger;
    bigger.reserve(std::max(out.size() + n, out.capacity() * 2));
    bigger.append(out);
    SecureWipe(out);
    out.swap(bigger);
  }
  out.append(data, n);
}

std::size_t CollectBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->sink != nullptr) {
    if ((t->cancel != nullptr && t->cancel->load()) || !(*t->sink)(std::string_view(data, bytes))) {
      t->stopped = true;
      return 0;
    }
    return bytes;
  }
  std::string& body = t->response->body;
  if (body.size() + bytes > t->max_body_bytes) {
    t->body_too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  AppendWiping(body, data, bytes);
  return bytes;
}

std::size_t CollectHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response head (after a 100 Continue or an interim answer): only the last one counts.
    // Its status is known here already, before the body reaches a stream's sink.
    t->response->headers.clear();
    const std::size_t sp = line.find(' ');
    if (sp != std::string_view::npos && line.size() >= sp + 4) {
      int code = 0;
      for (char ch : line.substr(sp + 1, 3)) code = code * 10 + (ch >= '0' && ch <= '9' ? ch - '0' : 0);
      t->response->status = code;
    }
    return bytes;
  }
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bytes;  // the blank line ending the head
  std::string name = AsciiLower(TrimSpace(line.substr(0, colon)));
  if (name.empty()) return bytes;
  t->response->headers.emplace_back(std::move(name),
                                    std::string(TrimSpace(line.substr(colon + 1))));
  return bytes;
}

// Called by curl about once a second and on progress; ends a cancelled stream.
int CheckCancel(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->cancel != nullptr && t->cancel->load()) {
    t->stopped = true;
    return 1;
  }
  return 0;
}

void SetBlob(CURL* c, CURLoption option, const std::string& pem) {
  curl_blob blob{};
  blob.data = const_cast<char*>(pem.data());
  blob.len = pem.size();
  blob.flags = CURL_BLOB_COPY;
  curl_easy_setopt(c, option, &blob);
}

bool IsTlsError(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
      return true;
    default:
      return false;
  }
}

// Why a transfer failed, in a few words: "Connection refused", "timed out after 5000 ms", "TLS
// verification failed: ...".
std::string DescribeFailure(CURL* c, CURLcode rc, const char* error_buffer,
                            const PostOptions& options) {
  const std::string curl_text =
      error_buffer[0] != '\0' ? std::string(error_buffer) : curl_easy_strerror(rc);
  if (rc == CURLE_COULDNT_CONNECT) {
    long os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    if (os_errno != 0) return std::strerror(static_cast<int>(os_errno));
    return curl_text;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    // The connect phase (TCP and the TLS handshake) has its own, usually shorter, limit.
    curl_off_t connect_time_us = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_time_us);
    if (connect_time_us == 0) {
      const auto limit = std::min(options.connect_timeout, options.timeout);
      return "connection timed out after " + std::to_string(limit.count()) + " ms";
    }
    return "timed out after " + std::to_string(options.timeout.count()) + " ms";
  }
  if (rc == CURLE_COULDNT_RESOLVE_HOST) return "could not resolve host (" + curl_text + ")";
  if (IsTlsError(rc)) return "TLS verification failed: " + curl_text;
  return curl_text;
}

}  // namespace

ClientResponse::~ClientResponse() { SecureWipe(body); }

std::string_view ClientResponse::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

namespace {

// One transfer, shared by Send and Stream.
Status Perform(const ClientRequest& request, const PostOptions& options, Transfer& transfer) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) return Error(Code::kInternal, "internal", "curl_easy_init failed");
  if (request.method.empty())
    return Error(Code::kInvalidParameter, "an HTTP request needs a method");

  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(nullptr,
                                                                          &curl_slist_free_all);
  auto add_header = [&header_list](const std::string& line) {
    // Appending returns the list's head: the same one once the list exists.
    curl_slist* head = curl_slist_append(header_list.get(), line.c_str());
    if (head != nullptr && header_list == nullptr) header_list.reset(head);
  };
  for (const auto& [k, v] : request.headers) {
    // "Name;" is curl's way of sending a header with an empty value ("Name:" would remove it).
    add_header(v.empty() ? k + ";" : k + ": " + v);
  }
  add_header("Expect:");  // no 100-continue round trip for larger bodies

  char error_buffer[CURL_ERROR_SIZE] = {0};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error_buffer);
  if (request.method == "GET" && request.body.empty()) {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method == "DELETE" && request.body.empty()) {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (request.method != "POST")
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, options.insecure_skip_verify ? 0L : 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, options.insecure_skip_verify ? 0L : 2L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &CollectBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &CollectHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  if (!options.ca_pem.empty()) {
    SetBlob(c, CURLOPT_CAINFO_BLOB, options.ca_pem);
  } else if (!options.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, options.ca_file.c_str());
  }
  if (!options.client_cert_pem.empty()) {
    SetBlob(c, CURLOPT_SSLCERT_BLOB, options.client_cert_pem);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!options.client_key_pem.empty()) {
    SetBlob(c, CURLOPT_SSLKEY_BLOB, options.client_key_pem);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  }
  if (transfer.cancel != nullptr) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &CheckCancel);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &transfer);
  }

  const CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  transfer.response->status = static_cast<int>(status);
  if (transfer.body_too_large) {
    return Error(Code::kUnavailable, "the response from " + request.url + " is larger than " +
                                         std::to_string(options.max_body_bytes) + " bytes");
  }
  if (transfer.stopped) return OkStatus();
  if (rc != CURLE_OK) {
    return Error(
        Code::kUnavailable,
        "could not reach " + request.url + ": " + DescribeFailure(c, rc, error_buffer, options),
        curl_easy_strerror(rc));
  }
  return OkStatus();
}

}  // namespace

Result<ClientResponse> Send(const ClientRequest& request, const PostOptions& options) {
  ClientResponse response;
  Transfer transfer;
  transfer.response = &response;
  transfer.max_body_bytes = options.max_body_bytes;
  ARCA_RETURN_IF_ERROR(Perform(request, options, transfer));
  return response;
}

Status Stream(const ClientRequest& request, const PostOptions& options, const StreamSink& on_data,
              const std::atomic<bool>* cancel, ClientResponse* head) {
  ClientResponse scratch;
  Transfer transfer;
  transfer.response = head != nullptr ? head : &scratch;
  transfer.sink = &on_data;
  transfer.cancel = cancel;
  return Perform(request, options, transfer);
}

Result<ClientResponse> Post(const std::string& url, const std::string& body,
                            const PostOptions& options) {
  ClientRequest request;
  request.method = "POST";
  request.url = url;
  request.headers = options.headers;
  request.body = body;
  auto r = Send(request, options);
  SecureWipe(request.body);
  return r;
}

}  // namespace arca::http
