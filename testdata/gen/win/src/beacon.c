/* beacon.exe: the sandbox fixture program (product "Beacon"). Console subsystem, winsock.
 *
 * Every variant:  resolves updates.beacon.test (getaddrinfo, IPv4), connects to the first
 *                 resolved address on port 443 (non-blocking connect, select timeout 2 s),
 *                 sends a minimal HTTP request, prints one line per step, exits.
 * -DBEACON_C2:    ALSO resolves c2.beacon.invalid, connects straight to 198.51.100.23:8443
 *                 sending "GET /p.ico ..." and sends one UDP datagram to 203.0.113.5:53535.
 * -DBEACON_DROPPER: ALSO writes the helper DLL it carries (RCDATA resource 101) to
 *                 %APPDATA%\Beacon\helper.dll and LoadLibrary's it.
 *
 * It never contacts any other address. A watchdog thread ends the process after
 * BEACON_DEADLINE_MS whatever happens (getaddrinfo has no timeout of its own). */
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>

#ifndef BEACON_VERSION
#error "BEACON_VERSION must be defined"
#endif
#ifndef BEACON_DEADLINE_MS
#define BEACON_DEADLINE_MS 4500
#endif

#define CONNECT_TIMEOUT_MS 2000
#define REPLY_TIMEOUT_MS 500

static const char update_host[] = "updates.beacon.test";

static DWORD WINAPI watchdog(LPVOID arg)
{
    (void)arg;
    Sleep(BEACON_DEADLINE_MS);
    printf("beacon " BEACON_VERSION ": deadline reached, exiting\n");
    fflush(stdout);
    ExitProcess(3);
    return 0;
}

static void say(const char *what, const char *detail)
{
    printf("beacon " BEACON_VERSION ": %s %s\n", what, detail);
    fflush(stdout);
}

/* tcp_request connects to sin with a bounded wait, sends req and waits briefly for a reply. */
static void tcp_request(const struct sockaddr_in *sin, const char *req, const char *label)
{
    char buf[160], addr[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, (void *)&sin->sin_addr, addr, sizeof addr);
    snprintf(buf, sizeof buf, "%s %s:%u", label, addr, (unsigned)ntohs(sin->sin_port));

    SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) {
        say("socket failed for", buf);
        return;
    }
    u_long nb = 1;
    ioctlsocket(s, FIONBIO, &nb);
    if (connect(s, (const struct sockaddr *)sin, sizeof *sin) == SOCKET_ERROR &&
        WSAGetLastError() != WSAEWOULDBLOCK) {
        say("connect refused:", buf);
        closesocket(s);
        return;
    }
    fd_set wr, ex;
    FD_ZERO(&wr);
    FD_ZERO(&ex);
    FD_SET(s, &wr);
    FD_SET(s, &ex);
    struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, (CONNECT_TIMEOUT_MS % 1000) * 1000};
    int err = 0, errlen = sizeof err;
    if (select(0, NULL, &wr, &ex, &tv) != 1 || !FD_ISSET(s, &wr) ||
        getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &errlen) != 0 || err != 0) {
        say("connect failed or timed out:", buf);
        closesocket(s);
        return;
    }
    int n = send(s, req, (int)strlen(req), 0);
    say(n > 0 ? "sent request to" : "send failed to", buf);

    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(s, &rd);
    struct timeval rtv = {0, REPLY_TIMEOUT_MS * 1000};
    char reply[64];
    if (n > 0 && select(0, &rd, NULL, NULL, &rtv) == 1) {
        int r = recv(s, reply, sizeof reply - 1, 0);
        if (r > 0) {
            reply[r] = 0;
            reply[strcspn(reply, "\r\n")] = 0;
            say("reply:", reply);
        }
    }
    closesocket(s);
}

/* resolve4 returns 0 and the first IPv4 address of host, or -1. */
static int resolve4(const char *host, struct in_addr *out)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        say("cannot resolve", host);
        return -1;
    }
    *out = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    char addr[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, (void *)out, addr, sizeof addr);
    char buf[128];
    snprintf(buf, sizeof buf, "%s -> %s", host, addr);
    say("resolved", buf);
    return 0;
}

static void check_for_update(void)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    if (resolve4(update_host, &sin.sin_addr) != 0)
        return;
    sin.sin_family = AF_INET;
    sin.sin_port = htons(443);
    tcp_request(&sin, "GET /v1/latest?version=" BEACON_VERSION " HTTP/1.1\r\n"
                      "Host: updates.beacon.test\r\nConnection: close\r\n\r\n", "update check");
}

#ifdef BEACON_C2
static void c2(void)
{
    struct in_addr ignored;
    resolve4("c2.beacon.invalid", &ignored); /* looked up, but the address used is fixed */

    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(8443);
    inet_pton(AF_INET, "198.51.100.23", &sin.sin_addr);
    tcp_request(&sin, "GET /p.ico HTTP/1.1\r\nHost: c2.beacon.invalid\r\n\r\n", "c2");

    SOCKET u = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    if (u == INVALID_SOCKET) {
        say("udp socket failed", "");
        return;
    }
    struct sockaddr_in dst;
    memset(&dst, 0, sizeof dst);
    dst.sin_family = AF_INET;
    dst.sin_port = htons(53535);
    inet_pton(AF_INET, "203.0.113.5", &dst.sin_addr);
    static const char dgram[] = "beacon-c2 hello";
    int n = sendto(u, dgram, (int)sizeof dgram - 1, 0, (const struct sockaddr *)&dst, sizeof dst);
    say(n > 0 ? "sent datagram to" : "datagram failed to", "203.0.113.5:53535");
    closesocket(u);
}
#endif

#ifdef BEACON_DROPPER
static void drop_and_load(void)
{
    HRSRC r = FindResourceA(NULL, MAKEINTRESOURCEA(101), MAKEINTRESOURCEA(10) /* RT_RCDATA */);
    HGLOBAL g = r ? LoadResource(NULL, r) : NULL;
    const void *dll = g ? LockResource(g) : NULL;
    DWORD size = r ? SizeofResource(NULL, r) : 0;
    if (dll == NULL || size == 0) {
        say("no payload resource", "");
        return;
    }
    char path[MAX_PATH];
    DWORD n = GetEnvironmentVariableA("APPDATA", path, MAX_PATH);
    if (n == 0 || n + sizeof "\\Beacon\\helper.dll" > MAX_PATH) {
        say("APPDATA not set", "");
        return;
    }
    strcat(path, "\\Beacon");
    CreateDirectoryA(path, NULL);
    strcat(path, "\\helper.dll");
    HANDLE f = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD wrote = 0;
    if (f == INVALID_HANDLE_VALUE) {
        say("cannot write", path);
        return;
    }
    WriteFile(f, dll, size, &wrote, NULL);
    CloseHandle(f);
    say("wrote", path);

    HMODULE m = LoadLibraryA(path);
    if (m == NULL) {
        say("LoadLibrary failed:", path);
        return;
    }
    typedef int(__cdecl * hello_fn)(void);
    hello_fn hello = (hello_fn)(void *)GetProcAddress(m, "helper_hello");
    char buf[64];
    snprintf(buf, sizeof buf, "helper_hello() = %d", hello ? hello() : -1);
    say("loaded helper.dll:", buf);
    FreeLibrary(m);
}
#endif

int main(void)
{
    CreateThread(NULL, 0, watchdog, NULL, 0, NULL);
    say("starting", "");
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) {
        say("WSAStartup failed", "");
        return 1;
    }
    check_for_update();
#ifdef BEACON_C2
    c2();
#endif
#ifdef BEACON_DROPPER
    drop_and_load();
#endif
    WSACleanup();
    say("done", "");
    return 0;
}
