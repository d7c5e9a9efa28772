/* oracle.c: the transform oracle (run under Wine): applies transforms (a ';'-separated list,
 * in order) to a copy of an MSI with msi.dll's MsiDatabaseApplyTransform and exports every
 * table with MsiDatabaseExport (.idt text) into a folder.
 * Usage: oracle.exe base.msi a.mst[;b.mst...] workcopy.msi outdir */
#include <windows.h>
#include <msi.h>
#include <msiquery.h>
#include <stdio.h>

int wmain(int argc, wchar_t **argv) {
	MSIHANDLE db, view, rec;
	UINT r;
	if (argc != 5) return 2;
	if (!CopyFileW(argv[1], argv[3], FALSE)) return 3;
	if ((r = MsiOpenDatabaseW(argv[3], MSIDBOPEN_TRANSACT, &db))) { printf("open %u\n", r); return 4; }
	for (wchar_t *t = argv[2], *end; t; t = end) {
		if ((end = wcschr(t, L';'))) *end++ = 0;
		if ((r = MsiDatabaseApplyTransformW(db, t, 0))) { printf("apply %ls %u\n", t, r); return 5; }
	}
	if ((r = MsiDatabaseOpenViewW(db, L"SELECT `Name` FROM `_Tables`", &view))) return 6;
	MsiViewExecute(view, 0);
	while (MsiViewFetch(view, &rec) == ERROR_SUCCESS) {
		WCHAR name[128], file[140];
		DWORD n = 128;
		MsiRecordGetStringW(rec, 1, name, &n);
		swprintf(file, 140, L"%ls.idt", name);
		if ((r = MsiDatabaseExportW(db, name, argv[4], file))) { printf("export %ls %u\n", name, r); return 7; }
		MsiCloseHandle(rec);
	}
	MsiCloseHandle(view);
	MsiCloseHandle(db);
	return 0;
}
