# The vidpipe worker AMI: Ubuntu 24.04 LTS with ffmpeg, Node.js 22, the app and its systemd units.
#
#   packer/build.sh -var region=eu-west-1      (makes the app archive, then `packer build packer/`)
#
# Written for Packer's built-in amazon-ebs builder in HCL2 as Packer 1.6.6 (Debian 12) knows it:
# no `packer { required_plugins }` block, so `packer validate packer/` works without `packer init`.
# A newer Packer (with the amazon plugin installed) builds it unchanged.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the AMI is built in (and registered in)."
}

variable "instance_type" {
  type        = string
  default     = "c7i.large"
  description = "Instance type of the temporary build instance (x86_64, like the fleet's default)."
}

variable "source_ami_name" {
  type        = string
  default     = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"
  description = "Name filter of the base image: Canonical's Ubuntu 24.04 LTS (noble), newest match."
}

variable "source_ami_owner" {
  type        = string
  default     = "099720109477"
  description = "Canonical's AWS account, so only Canonical's images match the filter."
}

variable "app_archive" {
  type        = string
  description = "The app as a .tar.gz of package.json, package-lock.json and src/ (packer/build.sh makes it)."
}

variable "node_version" {
  type        = string
  default     = "22.23.3"
  description = "Node.js release from nodejs.org; the one package.json pins for the tests."
}

variable "ami_name_prefix" {
  type    = string
  default = "vidpipe-worker"
}

variable "volume_size_gb" {
  type        = number
  default     = 30
  description = "Root volume of the build instance (the fleet's launch template sets its own size)."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance; empty uses the default VPC."
}

variable "ssh_source_cidrs" {
  type        = list(string)
  default     = ["0.0.0.0/0"]
  description = "Who may reach the build instance's SSH port while it is provisioned (better: your address as a /32)."
}

locals {
  build_time = formatdate("YYYYMMDD-hhmmss", timestamp())
}

source "amazon-ebs" "worker" {
  region          = var.region
  instance_type   = var.instance_type
  subnet_id       = var.subnet_id
  ami_name        = "${var.ami_name_prefix}-${local.build_time}"
  ami_description = "vidpipe worker: Ubuntu 24.04 LTS, ffmpeg, Node.js ${var.node_version}, vidpipe in /opt/vidpipe"

  source_ami_filter {
    filters = {
      name                = var.source_ami_name
      root-device-type    = "ebs"
      virtualization-type = "hvm"
      architecture        = "x86_64"
    }
    owners      = [var.source_ami_owner]
    most_recent = true
  }

  ssh_username = "ubuntu"
  # The temporary security group Packer makes for the build instance (Packer 1.6.6 cannot open it to
  # only the caller's address by itself, nor require IMDSv2 on the build instance; the fleet's
  # launch template requires IMDSv2).
  temporary_security_group_source_cidrs = var.ssh_source_cidrs
  # Encrypted snapshot with the account's default EBS key.
  encrypt_boot = true

  launch_block_device_mappings {
    device_name = "/dev/sda1"
    volume_size = var.volume_size_gb
    volume_type = "gp3"
    # gp3's baseline, stated because Packer 1.6.6 insists on them for gp3.
    iops                  = 3000
    throughput            = 125
    delete_on_termination = true
  }

  tags = {
    Name        = "${var.ami_name_prefix}-${local.build_time}"
    App         = "vidpipe"
    Role        = "worker"
    BaseAMI     = "{{ .SourceAMI }}"
    BaseAMIName = "{{ .SourceAMIName }}"
    NodeVersion = var.node_version
  }
}

build {
  sources = ["source.amazon-ebs.worker"]

  provisioner "file" {
    source      = var.app_archive
    destination = "/tmp/vidpipe-app.tar.gz"
  }

  # The trailing slash copies the folder's contents.
  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "/tmp/vidpipe-files"
  }

  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    execute_command = "chmod +x {{ .Path }}; sudo -E env {{ .Vars }} bash {{ .Path }}"
    environment_vars = [
      "NODE_VERSION=${var.node_version}",
      "APP_ARCHIVE=/tmp/vidpipe-app.tar.gz",
      "FILES=/tmp/vidpipe-files",
    ]
  }

  post-processor "manifest" {
    output     = "${path.root}/../out/packer-manifest.json"
    strip_path = true
  }
}
