; acme.nsi: the Acme Softphone installer the fixtures are built from. gen.sh passes
;   UNICODE (true|false), COMPRESSOR ("lzma", "/SOLID lzma", "zlib", "bzip2", ...),
;   VERSION (x.y.z), BIN (folder with media.dll, gfxcomp_47.dll), OUT, and optionally
;   TARGET (amd64-unicode), INETC (use the inetc plug-in), DUP (a path extracted twice).
Unicode ${UNICODE}
!ifdef TARGET
Target ${TARGET}
!endif
SetCompressor ${COMPRESSOR}
Name "Acme Softphone"
OutFile "${OUT}"
InstallDir "$PROGRAMFILES64\Acme Softphone"
RequestExecutionLevel admin
VIProductVersion "${VERSION}.0"
VIAddVersionKey "CompanyName" "Acme Softphone Ltd"
VIAddVersionKey "ProductName" "Acme Softphone"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "Acme Softphone Setup"
VIAddVersionKey "LegalCopyright" "Test fixture for rollgate. Not a real product."

!define UNINST "Software\Microsoft\Windows\CurrentVersion\Uninstall\AcmeSoftphone"

Page directory
Page instfiles

Section "Main"
  SetOutPath "$INSTDIR"
  File "/oname=readme.txt" "${SRC}/readme.txt"
  SetOutPath "$INSTDIR\bin"
  File "${BIN}/media.dll"
  File "${BIN}/gfxcomp_47.dll"
  SetOutPath "$INSTDIR\data\sub"
  File "/oname=config.dat" "${SRC}/config.dat"
  SetOutPath "$LOCALAPPDATA\Acme"
  File "/oname=profile.dat" "${SRC}/config.dat"
  CreateDirectory "$INSTDIR\logs"
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\Run" "AcmeSoftphone" '"$INSTDIR\bin\acme.exe" /background'
  WriteRegStr HKLM "${UNINST}" "DisplayName" "Acme Softphone"
  WriteRegStr HKLM "${UNINST}" "Publisher" "Acme Softphone Ltd"
  WriteRegStr HKLM "${UNINST}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegDWORD HKLM "${UNINST}" "NoModify" 1
  WriteUninstaller "$INSTDIR\uninstall.exe"
  ExecWait '"$INSTDIR\bin\acme.exe" /register' $0
  ExecShell "open" "https://www.acme-softphone.test/welcome"
!ifdef INETC
  inetc::get /SILENT "http://198.51.100.7/acme/update.bin" "$TEMP\acme-update.bin" /END
!else
  NSISdl::download "http://198.51.100.7/acme/update.bin" "$TEMP\acme-update.bin"
!endif
  Exec '"$TEMP\acme-update.bin" /quiet'
SectionEnd

!ifdef DUP
Section "Notes"
  SetOutPath "$INSTDIR"
  File "/oname=notes.txt" "${SRC}/readme.txt"
SectionEnd
Section "More notes"
  SetOutPath "$INSTDIR"
  File "/oname=notes.txt" "${SRC}/config.dat"
SectionEnd
!endif

Section "Uninstall"
  Delete "$INSTDIR\bin\media.dll"
  Delete "$INSTDIR\uninstall.exe"
  DeleteRegKey HKLM "${UNINST}"
SectionEnd
