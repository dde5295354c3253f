/*
  Hokan's built-in malware rules (EDGE-6). Uploads are scanned in windows;
  the externals tell each window what is known about the whole file:
    at_start  - this window starts at offset 0 of the file
    zip_file  - the file starts with a ZIP local header (OOXML documents)
    pdf_file  - the file starts with %PDF-
    ole_file  - the file is an OLE2 compound document (legacy Office)
  Rule names become the signature shown to operators and in audit entries.
*/

rule EICAR_Test_File
{
    meta:
        signature = "EICAR-Test-File"
    strings:
        // The EICAR test string, in hex so this file is not itself flagged.
        $eicar = { 58 35 4F 21 50 25 40 41 50 5B 34 5C 50 5A 58 35 34 28 50 5E 29 37 43 43 29 37 7D 24
                   45 49 43 41 52 2D 53 54 41 4E 44 41 52 44 2D 41 4E 54 49 56 49 52 55 53 2D 54 45
                   53 54 2D 46 49 4C 45 21 24 48 2B 48 2A }
    condition:
        $eicar
}

rule Executable_Win_PE
{
    meta:
        signature = "Executable.Win.PE"
    condition:
        // "MZ" alone also starts ordinary text (a CSV row "MZ商事,…"): require the PE
        // header that e_lfanew points to, as Windows' loader does.
        at_start and uint16(0) == 0x5A4D and uint32(0x3C) < filesize - 4 and
        uint32(uint32(0x3C)) == 0x00004550
}

rule Executable_Unix_ELF
{
    meta:
        signature = "Executable.Unix.ELF"
    condition:
        at_start and uint32(0) == 0x464C457F
}

rule Executable_Mac_MachO
{
    meta:
        signature = "Executable.Mac.MachO"
    condition:
        at_start and (
            uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
            uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE or
            uint32(0) == 0xBEBAFECA
        )
}

rule Executable_Embedded_PE
{
    meta:
        signature = "Executable.Embedded.PE"
    strings:
        $stub = "This program cannot be run in DOS mode"
        $stub16 = "This program must be run under Win32"
    condition:
        any of them
}

rule Office_Macro_OOXML
{
    meta:
        signature = "Office.Macro.VBA"
    strings:
        $vba = "vbaProject.bin" nocase
        $macro_type = "application/vnd.ms-office.vbaProject"
    condition:
        zip_file and any of them
}

rule Office_Macro_OLE
{
    meta:
        signature = "Office.Macro.VBA"
    strings:
        $vba1 = "_VBA_PROJECT" wide ascii
        $vba2 = "VBA_PROJECT_CUR" wide ascii
        $auto1 = "AutoOpen" nocase wide ascii
        $auto2 = "Document_Open" nocase wide ascii
        $auto3 = "Workbook_Open" nocase wide ascii
    condition:
        ole_file and any of them
}

rule PDF_JavaScript
{
    meta:
        signature = "PDF.Suspicious.JavaScript"
    strings:
        $js1 = "/JavaScript"
        $js2 = /\/JS[\s\/<(\[]/
        // Names obfuscated with #xx escapes, e.g. /J#61vaScript
        $js3 = /\/J(#[0-9A-Fa-f]{2}|[a-z])*#[0-9A-Fa-f]{2}([a-z]|#[0-9A-Fa-f]{2})*S[a-z]*/
    condition:
        pdf_file and any of them
}

rule PDF_Launch_Action
{
    meta:
        signature = "PDF.Suspicious.Launch"
    strings:
        $launch = "/Launch"
        $embedded_exe = /\/F\s*\(\s*[^)]{0,200}\.(exe|scr|bat|cmd|ps1|vbs|js)\s*\)/ nocase
    condition:
        pdf_file and any of them
}
