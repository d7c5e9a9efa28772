[Setup]
AppName=RollgateConformanceTree
AppVersion=2.5.1
AppPublisher=Rollgate Conformance
DefaultDirName={autopf}\RollgateConformanceTree
OutputDir=out
OutputBaseFilename=tree
Compression=lzma2/max
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64
[Files]
Source: "payload\readme.txt"; DestDir: "{app}"
Source: "payload\license.txt"; DestDir: "{app}\docs"
Source: "payload\sub\*"; DestDir: "{app}\sub"; Flags: recursesubdirs
Source: "payload\readme.txt"; DestDir: "{app}\dup"; DestName: "same-content-again.txt"
[Registry]
Root: HKCU; Subkey: "Software\RollgateConformance"; ValueType: string; ValueName: "v"; ValueData: "1"
[Run]
Filename: "{app}\readme.txt"; Flags: shellexec postinstall skipifsilent
