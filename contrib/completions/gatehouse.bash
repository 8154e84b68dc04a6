#!/bin/bash

__gatehouse_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__gatehouse_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__gatehouse_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__gatehouse_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_gatehouse() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|identity|partners|relay|audit|keys|seal|open|inspect|deliver|send|receipt|status|inbox|run|doctor|config|journal|notify|network|sftp-server|web|users|help)
        # Offer subcommand argument completions
        "_gatehouse_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init identity partners relay audit keys seal open inspect deliver send receipt status inbox run doctor config journal notify network sftp-server web users help' -- "${cur}"))
        ;;
    esac
}

_gatehouse_init() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --org --name --mailbox)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--org')
        return
        ;;
    '--name')
        return
        ;;
    '--mailbox')
        return
        ;;
    esac
}

_gatehouse_identity() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    export|show|set-mailbox)
        # Offer subcommand argument completions
        "_gatehouse_identity_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'export show set-mailbox' -- "${cur}"))
        ;;
    esac
}

_gatehouse_identity_export() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home -o --output)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '-o'|'--output')
        return
        ;;
    esac
}

_gatehouse_identity_show() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_identity_set-mailbox() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --root-key --passphrase-file)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--root-key')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    esac
}

_gatehouse_partners() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list|remove)
        # Offer subcommand argument completions
        "_gatehouse_partners_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list remove' -- "${cur}"))
        ;;
    esac
}

_gatehouse_partners_add() {
    repeating_flags=()
    non_repeating_flags=(--yes --replace --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_partners_list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_partners_remove() {
    repeating_flags=()
    non_repeating_flags=(--yes --force --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_relay() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|address|add|remove|run|follow)
        # Offer subcommand argument completions
        "_gatehouse_relay_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init address add remove run follow' -- "${cur}"))
        ;;
    esac
}

_gatehouse_relay_init() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --listen --public-address --quota-bytes --quota-files --sender-quota-bytes --sender-quota-files)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--listen')
        return
        ;;
    '--public-address')
        return
        ;;
    '--quota-bytes')
        return
        ;;
    '--quota-files')
        return
        ;;
    '--sender-quota-bytes')
        return
        ;;
    '--sender-quota-files')
        return
        ;;
    esac
}

_gatehouse_relay_address() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_relay_add() {
    repeating_flags=()
    non_repeating_flags=(--yes --replace --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_relay_remove() {
    repeating_flags=()
    non_repeating_flags=(--yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_relay_run() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --sshd)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--sshd')
        return
        ;;
    esac
}

_gatehouse_relay_follow() {
    repeating_flags=()
    non_repeating_flags=(--yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --from --every)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--from')
        return
        ;;
    '--every')
        return
        ;;
    esac
}

_gatehouse_audit() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    verify|show|checkpoint)
        # Offer subcommand argument completions
        "_gatehouse_audit_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'verify show checkpoint' -- "${cur}"))
        ;;
    esac
}

_gatehouse_audit_verify() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_audit_show() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --bundle --since --user)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--bundle')
        return
        ;;
    '--since')
        return
        ;;
    '--user')
        return
        ;;
    esac
}

_gatehouse_audit_checkpoint() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_keys() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|status|rotate|revoke|protect-root)
        # Offer subcommand argument completions
        "_gatehouse_keys_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list status rotate revoke protect-root' -- "${cur}"))
        ;;
    esac
}

_gatehouse_keys_list() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_keys_status() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_keys_rotate() {
    repeating_flags=()
    non_repeating_flags=(--root --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --root-key --passphrase-file --grace --valid-for --new-root-key)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--root-key')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--grace')
        return
        ;;
    '--valid-for')
        return
        ;;
    '--new-root-key')
        return
        ;;
    esac
}

_gatehouse_keys_revoke() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --root-key --passphrase-file --reason --at)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--root-key')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--reason')
        return
        ;;
    '--at')
        return
        ;;
    esac
}

_gatehouse_keys_protect-root() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --passphrase-file --out)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--out')
        return
        ;;
    esac
}

_gatehouse_seal() {
    repeating_flags=()
    non_repeating_flags=(--no-self --version -h --help)
    repeating_options=(--to --nhs-number)
    non_repeating_options=(--home -o --output --subject --workflow)
    __gatehouse_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--to')
        return
        ;;
    '-o'|'--output')
        return
        ;;
    '--subject')
        return
        ;;
    '--nhs-number')
        return
        ;;
    '--workflow')
        __gatehouse_add_completions -W 'reception-summary'$'\n''release-summary'$'\n''gp-record'$'\n''medication'$'\n''other'
        return
        ;;
    esac
}

_gatehouse_open() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home -o --output)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '-o'|'--output')
        return
        ;;
    esac
}

_gatehouse_inspect() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_deliver() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --to)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--to')
        return
        ;;
    esac
}

_gatehouse_send() {
    repeating_flags=()
    non_repeating_flags=(--wait --version -h --help)
    repeating_options=(--nhs-number)
    non_repeating_options=(--home --to --subject --workflow --timeout)
    __gatehouse_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--to')
        return
        ;;
    '--subject')
        return
        ;;
    '--nhs-number')
        return
        ;;
    '--workflow')
        __gatehouse_add_completions -W 'reception-summary'$'\n''release-summary'$'\n''gp-record'$'\n''medication'$'\n''other'
        return
        ;;
    '--timeout')
        return
        ;;
    esac
}

_gatehouse_receipt() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    show)
        # Offer subcommand argument completions
        "_gatehouse_receipt_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'show' -- "${cur}"))
        ;;
    esac
}

_gatehouse_receipt_show() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_status() {
    repeating_flags=()
    non_repeating_flags=(--json --refused --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --limit)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--limit')
        return
        ;;
    esac
}

_gatehouse_inbox() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --nhs-number --workflow --since)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--nhs-number')
        return
        ;;
    '--workflow')
        __gatehouse_add_completions -W 'reception-summary'$'\n''release-summary'$'\n''gp-record'$'\n''medication'$'\n''other'
        return
        ;;
    '--since')
        return
        ;;
    esac
}

_gatehouse_run() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --log-format --metrics --node --web)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--log-format')
        __gatehouse_add_completions -W 'text'$'\n''json'
        return
        ;;
    '--metrics')
        return
        ;;
    '--node')
        return
        ;;
    '--web')
        return
        ;;
    esac
}

_gatehouse_doctor() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --timeout)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--timeout')
        return
        ;;
    esac
}

_gatehouse_config() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    check)
        # Offer subcommand argument completions
        "_gatehouse_config_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'check' -- "${cur}"))
        ;;
    esac
}

_gatehouse_config_check() {
    repeating_flags=()
    non_repeating_flags=(--default --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_journal() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    migrate)
        # Offer subcommand argument completions
        "_gatehouse_journal_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'migrate' -- "${cur}"))
        ;;
    esac
}

_gatehouse_journal_migrate() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --to --password-file --tls --ca-file)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--to')
        return
        ;;
    '--password-file')
        return
        ;;
    '--tls')
        return
        ;;
    '--ca-file')
        return
        ;;
    esac
}

_gatehouse_notify() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    test)
        # Offer subcommand argument completions
        "_gatehouse_notify_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'test' -- "${cur}"))
        ;;
    esac
}

_gatehouse_notify_test() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --event)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--event')
        return
        ;;
    esac
}

_gatehouse_network() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|admit|revoke|publish|show|export-card|protect-root|rotate-root|witness|add-witness|require-witnesses|join|sync)
        # Offer subcommand argument completions
        "_gatehouse_network_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init admit revoke publish show export-card protect-root rotate-root witness add-witness require-witnesses join sync' -- "${cur}"))
        ;;
    esac
}

_gatehouse_network_init() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --name)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--name')
        return
        ;;
    esac
}

_gatehouse_network_admit() {
    repeating_flags=()
    non_repeating_flags=(--yes --replace --version -h --help)
    repeating_options=()
    non_repeating_options=(--home --days)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--days')
        return
        ;;
    esac
}

_gatehouse_network_revoke() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --reason)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--reason')
        return
        ;;
    esac
}

_gatehouse_network_publish() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--to)
    non_repeating_options=(--home --root-key --passphrase-file)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--root-key')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--to')
        return
        ;;
    esac
}

_gatehouse_network_show() {
    repeating_flags=()
    non_repeating_flags=(--json --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_network_export-card() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home -o --output)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '-o'|'--output')
        return
        ;;
    esac
}

_gatehouse_network_protect-root() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --passphrase-file --out)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--out')
        return
        ;;
    esac
}

_gatehouse_network_rotate-root() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=(--to)
    non_repeating_options=(--home --root-key --passphrase-file)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--root-key')
        return
        ;;
    '--passphrase-file')
        return
        ;;
    '--to')
        return
        ;;
    esac
}

_gatehouse_network_witness() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    init|cosign|serve)
        # Offer subcommand argument completions
        "_gatehouse_network_witness_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'init cosign serve' -- "${cur}"))
        ;;
    esac
}

_gatehouse_network_witness_init() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --name)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--name')
        return
        ;;
    esac
}

_gatehouse_network_witness_cosign() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --from)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--from')
        return
        ;;
    esac
}

_gatehouse_network_witness_serve() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --listen)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--listen')
        return
        ;;
    esac
}

_gatehouse_network_add-witness() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --url)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--url')
        return
        ;;
    esac
}

_gatehouse_network_require-witnesses() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --require)
    __gatehouse_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--require')
        return
        ;;
    esac
}

_gatehouse_network_join() {
    repeating_flags=()
    non_repeating_flags=(--yes --replace --version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_network_sync() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --from)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--from')
        return
        ;;
    esac
}

_gatehouse_sftp-server() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--org --root --log --relay-pid-file --quota-bytes --quota-files --sender-quota-bytes --sender-quota-files)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--org')
        return
        ;;
    '--root')
        return
        ;;
    '--log')
        return
        ;;
    '--relay-pid-file')
        return
        ;;
    '--quota-bytes')
        return
        ;;
    '--quota-files')
        return
        ;;
    '--sender-quota-bytes')
        return
        ;;
    '--sender-quota-files')
        return
        ;;
    esac
}

_gatehouse_web() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --listen)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--listen')
        return
        ;;
    esac

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    cert)
        # Offer subcommand argument completions
        "_gatehouse_web_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'cert' -- "${cur}"))
        ;;
    esac
}

_gatehouse_web_cert() {
    repeating_flags=()
    non_repeating_flags=(--force --version -h --help)
    repeating_options=(--host)
    non_repeating_options=(--home --days)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--host')
        return
        ;;
    '--days')
        return
        ;;
    esac
}

_gatehouse_users() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    add|list|disable|reset)
        # Offer subcommand argument completions
        "_gatehouse_users_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'add list disable reset' -- "${cur}"))
        ;;
    esac
}

_gatehouse_users_add() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home --role)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    '--role')
        __gatehouse_add_completions -W 'clinician'$'\n''sender'$'\n''admin'$'\n''intake'
        return
        ;;
    esac
}

_gatehouse_users_list() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_users_disable() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_users_reset() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=(--home)
    __gatehouse_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--home')
        return
        ;;
    esac
}

_gatehouse_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __gatehouse_offer_flags_options -1
}

complete -o filenames -F _gatehouse gatehouse
