/* mkstg.c: writes a compound file with ole32's StgCreateDocfile (run under Wine), so the
 * transform and patch fixtures' containers are made by a Windows API implementation, not by
 * rollgate. Usage: mkstg.exe out.file list.txt. Each line of list.txt is
 *   C <path> <clsid>   set the class of the storage at path ("." for the root)
 *   S <path> <file>    write file's bytes as the stream at path
 * where path is "/"-separated element names, each written as hex UTF-16 code units (4 hex
 * digits each), so MSI-packed stream names pass through unchanged. */
#define COBJMACROS
#include <windows.h>
#include <objbase.h>
#include <stdio.h>
#include <string.h>

static int unhex(const char *h, WCHAR *out, int max) {
	int n = 0;
	while (h[0] && h[0] != '/' && n < max - 1) {
		unsigned v;
		if (sscanf(h, "%4x", &v) != 1) return -1;
		out[n++] = (WCHAR)v;
		h += 4;
	}
	out[n] = 0;
	return n;
}

/* open walks to the storage holding the last element of path, creating storages on the
 * way; *last points at the last element. */
static IStorage *walk(IStorage *root, const char *path, const char **last) {
	IStorage *cur = root;
	IStorage_AddRef(cur);
	for (;;) {
		const char *slash = strchr(path, '/');
		if (!slash) break;
		WCHAR name[64];
		if (unhex(path, name, 64) < 0) return NULL;
		IStorage *next = NULL;
		if (FAILED(IStorage_OpenStorage(cur, name, NULL, STGM_READWRITE | STGM_SHARE_EXCLUSIVE, NULL, 0, &next)) &&
		    FAILED(IStorage_CreateStorage(cur, name, STGM_READWRITE | STGM_SHARE_EXCLUSIVE | STGM_CREATE, 0, 0, &next)))
			return NULL;
		IStorage_Release(cur);
		cur = next;
		path = slash + 1;
	}
	*last = path;
	return cur;
}

int main(int argc, char **argv) {
	WCHAR out[MAX_PATH];
	IStorage *root;
	char line[4096];
	FILE *list;
	if (argc != 3) return 2;
	MultiByteToWideChar(CP_UTF8, 0, argv[1], -1, out, MAX_PATH);
	if (FAILED(StgCreateDocfile(out, STGM_CREATE | STGM_READWRITE | STGM_SHARE_EXCLUSIVE | STGM_DIRECT, 0, &root))) return 3;
	if (!(list = fopen(argv[2], "r"))) return 4;
	while (fgets(line, sizeof line, list)) {
		char kind, path[1024], arg[2048];
		const char *last;
		IStorage *stg;
		if (sscanf(line, "%c %1023s %2047s", &kind, path, arg) != 3) continue;
		if (kind == 'C') {
			CLSID clsid;
			WCHAR w[64];
			MultiByteToWideChar(CP_UTF8, 0, arg, -1, w, 64);
			if (FAILED(CLSIDFromString(w, &clsid))) return 5;
			if (!strcmp(path, ".")) {
				IStorage_SetClass(root, &clsid);
				continue;
			}
			char p2[1100];
			snprintf(p2, sizeof p2, "%s/x", path);
			if (!(stg = walk(root, p2, &last))) return 6;
			IStorage_SetClass(stg, &clsid);
			IStorage_Release(stg);
			continue;
		}
		if (!(stg = walk(root, path, &last))) return 7;
		WCHAR name[64];
		IStream *stm;
		if (unhex(last, name, 64) < 0) return 8;
		if (FAILED(IStorage_CreateStream(stg, name, STGM_WRITE | STGM_SHARE_EXCLUSIVE | STGM_CREATE, 0, 0, &stm))) return 9;
		FILE *f = fopen(arg, "rb");
		if (!f) return 10;
		char buf[65536];
		size_t n;
		while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
			ULONG w;
			if (FAILED(IStream_Write(stm, buf, (ULONG)n, &w)) || w != n) return 11;
		}
		fclose(f);
		IStream_Release(stm);
		IStorage_Release(stg);
	}
	IStorage_Commit(root, STGC_DEFAULT);
	IStorage_Release(root);
	return 0;
}
