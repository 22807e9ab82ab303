package queue

import "os/exec"

var execCommand = exec.Command
