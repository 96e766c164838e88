package desktop

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// TrimResident tells the kernel that the program's own code and read-only
// data pages that start-up touched are not needed now (madvise
// MADV_PAGEOUT on the executable's file mappings). They are clean copies
// of the binary: they stay in the page cache and come back, without disk
// access, the moment they are used again. A tray that mostly waits then
// holds only what it uses. It returns how many bytes of mappings it
// advised; errors (an old kernel without MADV_PAGEOUT) leave everything as
// it was.
func TrimResident() (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "start-end perms offset dev inode path"
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue // only the binary's read-only (code, rodata) mappings
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The raw call: the range is the kernel's own mapping, not a Go
		// slice (unix.Madvise takes one).
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(start), uintptr(end-start), unix.MADV_PAGEOUT); errno != 0 {
			return total, errno
		}
		total += int(end - start)
	}
	return total, sc.Err()
}
