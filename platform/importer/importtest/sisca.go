package importtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/tenancy/platform/platform/platformtest"
)

// SiscaTimezone is the zone of SISCA's DATETIMEs: a Mexican university's
// PHP app, which stored local wall clocks.
const SiscaTimezone = "America/Mexico_City"

// SiscaDatabasePrefix starts every database Sisca creates: the dev
// MariaDB's test user may create and drop those only.
const SiscaDatabasePrefix = "platformtest_sisca_"

const siscaOrphanTeacherBase = 900000

// SiscaTables are SISCA's tables, parents before children.
func SiscaTables() []string {
	return []string{"usuarios", "periodos", "programas", "materias", "programa_materias", "grupos", "docentes",
		"horarios", "carga_academica", "tutorias", "prefectura", "auditoria"}
}

var siscaDefaults = map[string]int{
	"usuarios": 8, "periodos": 3, "programas": 4, "materias": 10, "programa_materias": 12, "grupos": 6,
	"docentes": 6, "horarios": 2, "carga_academica": 10, "tutorias": 5, "prefectura": 6, "auditoria": 8,
}

// SiscaCounts is the rows of each table Sisca(t, opt) builds.
func SiscaCounts(opt Options) map[string]int64 {
	out := map[string]int64{}
	for table, def := range siscaDefaults {
		out[table] = int64(opt.rowsOf(table, def))
	}
	out["usuarios"] += int64(opt.Duplicates)
	out["carga_academica"] += int64(opt.Orphans)
	return out
}

// SiscaLogins are SISCA's hand-picked users in id order, as v2.0 left
// them halfway through its password migration: a bcrypt hash ($2y$, PHP's
// password_hash) in contraseña_hash for those who logged in since, the
// plaintext in contraseña for the others, one hash a script wrote into
// contraseña itself (atorres), and a guest account with neither.
// Generated users beyond these have a $2y$ hash of GeneratedPassword.
// None is "admin": a provisioned tenant has that user already.
func SiscaLogins() []Login {
	return []Login{
		{Username: "coordinacion", Password: "Sisca#Admin2024", Stored: StoredBcrypt},
		{Username: "lhernandez", Password: "lucia2019", Stored: StoredPlaintext},
		{Username: "jramirez", Password: "docente123", Stored: StoredPlaintext},
		{Username: "mcastaneda", Password: "Castañeda.88", Stored: StoredBcrypt},
		{Username: "prefecto1", Password: "prefectura", Stored: StoredPlaintext},
		{Username: "atorres", Password: "Tutorías.2023", Stored: StoredBcrypt},
		{Username: "invitado", Password: "", Stored: StoredEmpty},
		{Username: "rnavarro", Password: "Navarro*2024", Stored: StoredBcrypt},
	}
}

// SISCA's schema as its PHP app created it: InnoDB, utf8mb4 with the
// Spanish collation, TINYINT(1) booleans, DATETIMEs in local time, zero
// dates for "never", ENUMs, no foreign key constraints (the app checked
// references itself, so orphans exist).
const siscaSchema = "" +
	"CREATE TABLE usuarios (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" nombre_usuario VARCHAR(50) NOT NULL," +
	" `contraseña` VARCHAR(255) NULL COMMENT 'v1: texto plano'," +
	" `contraseña_hash` VARCHAR(255) NULL COMMENT 'v2.0: password_hash()'," +
	" nombre_completo VARCHAR(150) NOT NULL," +
	" correo VARCHAR(150) NULL," +
	" rol ENUM('administrador','coordinador','docente','prefecto','tutor') NOT NULL DEFAULT 'docente'," +
	" debe_cambiar_password TINYINT(1) NOT NULL DEFAULT 0," +
	" intentos_fallidos INT NOT NULL DEFAULT 0," +
	" bloqueado TINYINT(1) NOT NULL DEFAULT 0," +
	" fecha_bloqueo DATETIME NULL," +
	" activo TINYINT(1) NOT NULL DEFAULT 1," +
	" ultimo_acceso DATETIME NOT NULL DEFAULT '0000-00-00 00:00:00'," +
	" fecha_creacion DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP," +
	" fecha_actualizacion TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP," +
	" KEY idx_nombre_usuario (nombre_usuario)" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE periodos (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" clave VARCHAR(20) NOT NULL UNIQUE," +
	" nombre VARCHAR(100) NOT NULL," +
	" fecha_inicio DATE NOT NULL," +
	" fecha_fin DATE NOT NULL," +
	" activo TINYINT(1) NOT NULL DEFAULT 0" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE programas (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" clave VARCHAR(20) NOT NULL UNIQUE," +
	" nombre VARCHAR(150) NOT NULL," +
	" modalidad ENUM('escolarizada','mixta','en línea') NOT NULL DEFAULT 'escolarizada'," +
	" activo TINYINT(1) NOT NULL DEFAULT 1" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE materias (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" clave VARCHAR(20) NOT NULL UNIQUE," +
	" nombre VARCHAR(150) NOT NULL," +
	" creditos TINYINT UNSIGNED NOT NULL DEFAULT 0," +
	" horas_teoria TINYINT UNSIGNED NOT NULL DEFAULT 0," +
	" horas_practica TINYINT UNSIGNED NOT NULL DEFAULT 0," +
	" horas_semana TINYINT UNSIGNED NOT NULL" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE programa_materias (" +
	" programa_id INT UNSIGNED NOT NULL," +
	" materia_id INT UNSIGNED NOT NULL," +
	" semestre TINYINT UNSIGNED NOT NULL," +
	" PRIMARY KEY (programa_id, materia_id)," +
	" KEY idx_materia (materia_id)" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE grupos (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" programa_id INT UNSIGNED NOT NULL," +
	" periodo_id INT UNSIGNED NOT NULL," +
	" clave VARCHAR(10) NOT NULL," +
	" semestre TINYINT UNSIGNED NOT NULL," +
	" turno ENUM('matutino','vespertino','nocturno','mixto') NOT NULL DEFAULT 'matutino'," +
	" aula VARCHAR(20) NULL," +
	" UNIQUE KEY uq_programa_clave (programa_id, clave)" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE docentes (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" numero_empleado VARCHAR(20) NOT NULL UNIQUE," +
	" nombre VARCHAR(80) NOT NULL," +
	" apellido_paterno VARCHAR(80) NOT NULL," +
	" apellido_materno VARCHAR(80) NULL," +
	" grado_academico VARCHAR(20) NULL," +
	" correo VARCHAR(150) NULL," +
	" telefono VARCHAR(20) NULL," +
	" horas_contrato DECIMAL(5,2) NOT NULL DEFAULT 0.00," +
	" usuario_id INT UNSIGNED NULL," +
	" activo TINYINT(1) NOT NULL DEFAULT 1" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE horarios (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" periodo_id INT UNSIGNED NOT NULL," +
	" nombre_archivo VARCHAR(255) NOT NULL," +
	" contenido LONGTEXT NOT NULL COMMENT 'JSON de la hoja de cálculo'," +
	" archivo MEDIUMBLOB NULL COMMENT 'el .xlsx tal como se subió'," +
	" subido_por INT UNSIGNED NULL," +
	" fecha_subida DATETIME NOT NULL" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE carga_academica (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" periodo_id INT UNSIGNED NOT NULL," +
	" grupo_id INT UNSIGNED NOT NULL," +
	" docente_id INT UNSIGNED NOT NULL," +
	" materia_id INT UNSIGNED NOT NULL," +
	" horas_semana TINYINT UNSIGNED NOT NULL," +
	" asignado_por INT UNSIGNED NULL," +
	" fecha_asignacion DATETIME NOT NULL," +
	" KEY idx_docente (docente_id)" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE tutorias (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" periodo_id INT UNSIGNED NOT NULL," +
	" grupo_id INT UNSIGNED NOT NULL," +
	" docente_id INT UNSIGNED NOT NULL," +
	" fecha DATE NOT NULL," +
	" hora_inicio TIME NOT NULL," +
	" tema VARCHAR(255) NOT NULL," +
	" asistentes SMALLINT UNSIGNED NOT NULL DEFAULT 0," +
	" observaciones TEXT NULL" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE prefectura (" +
	" id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" periodo_id INT UNSIGNED NOT NULL," +
	" grupo_id INT UNSIGNED NOT NULL," +
	" docente_id INT UNSIGNED NULL," +
	" registrado_por INT UNSIGNED NULL," +
	" fecha DATE NOT NULL," +
	" hora TIME NOT NULL," +
	" tipo ENUM('falta','retardo','salida_anticipada','incidencia','otro') NOT NULL," +
	" descripcion TEXT NOT NULL" +
	") ENGINE=InnoDB;\n" +
	"CREATE TABLE auditoria (" +
	" id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
	" usuario_id INT UNSIGNED NULL," +
	" accion VARCHAR(50) NOT NULL," +
	" tabla_afectada VARCHAR(64) NULL," +
	" registro_id INT UNSIGNED NULL," +
	" detalle TEXT NULL," +
	" ip VARCHAR(45) NULL," +
	" fecha DATETIME NOT NULL" +
	") ENGINE=InnoDB;\n"

var (
	siscaUserNames = []string{"Administrador SISCA", "Lucía Hernández Peña", "José Ramírez Núñez", "María Castañeda Ibáñez",
		"Óscar Gutiérrez Ávila", "Ana Sofía Torres Bello", "Usuario Invitado", "Raúl Navarro Ordóñez"}
	siscaRoles     = []string{"administrador", "coordinador", "docente", "docente", "prefecto", "tutor", "docente", "docente"}
	siscaPrograms  = []string{"Ingeniería en Sistemas Computacionales", "Ingeniería Industrial", "Licenciatura en Administración", "Ingeniería en Gestión Empresarial"}
	siscaProgKeys  = []string{"ISC", "IIND", "LADM", "IGEM"}
	siscaSubjects  = []string{"Estructura de Datos", "Cálculo Diferencial", "Cálculo Integral", "Lenguajes y Autómatas I", "Fundamentos de Bases de Datos", "Taller de Ética", "Fundamentos de Investigación", "Métodos Numéricos", "Contabilidad Financiera", "Investigación de Operaciones"}
	siscaSubjKeys  = []string{"AED-1026", "ACF-0901", "ACF-0902", "SCD-1015", "AEF-1031", "ACA-0907", "ACC-0906", "SCC-1017", "AEC-1008", "INC-1025"}
	siscaGroupKeys = []string{"1A", "3A", "3B", "5A", "2V", "7A"}
	siscaShifts    = []string{"matutino", "matutino", "vespertino", "matutino", "vespertino", "mixto"}
	siscaFirst     = []string{"Jesús", "Verónica", "Raúl", "Guadalupe", "Martín", "Begoña"}
	siscaLast1     = []string{"Ramírez", "Domínguez", "Navarro", "Peña", "Gómez", "Muñoz"}
	siscaLast2     = []string{"Núñez", "Saldaña", "Ordóñez", "Cortés", "Lázaro", ""}
	siscaDegrees   = []string{"M.C.", "Dra.", "Ing.", "Lic.", "Dr.", "M.A."}
	siscaTopics    = []string{"Hábitos de estudio", "Orientación vocacional", "Seguimiento de calificaciones", "Manejo del estrés en exámenes", "Trámites de servicio social"}
	siscaReports   = []string{"falta", "retardo", "salida_anticipada", "incidencia", "falta", "otro"}
	siscaReportTxt = []string{"El docente no se presentó a clase.", "Llegó 20 minutos tarde.", "Terminó la clase 30 minutos antes.", "Proyector descompuesto en el aula.", "Sin aviso a la coordinación.", "Simulacro de sismo: clase suspendida."}
	siscaActions   = []string{"login", "login_fallido", "cambio_password", "alta_usuario", "login", "bloqueo_cuenta", "desbloqueo_cuenta", "carga_horario"}
)

// siscaEpoch is a wall clock in Mexico City.
var siscaEpoch = time.Date(2024, 1, 15, 8, 0, 0, 0, time.UTC)

// Sisca creates a fresh SISCA database (unique name, dropped at cleanup)
// on the dev MariaDB of PLATFORM_TEST_MYSQL_URL and returns its
// mysql://…/db URL; counts are SiscaCounts(opt).
func Sisca(t testing.TB, opt Options) string {
	t.Helper()
	opt.check(t, "Sisca", siscaDefaults)
	n := func(table string) int { return opt.rowsOf(table, siscaDefaults[table]) }
	if opt.Duplicates > n("usuarios") {
		t.Fatalf("importtest.Sisca: %d duplicates of %d users", opt.Duplicates, n("usuarios"))
	}
	for _, parent := range []string{"usuarios", "periodos", "programas", "materias", "grupos", "docentes"} {
		if n(parent) == 0 {
			t.Fatalf("importtest.Sisca: Rows[%q] = 0: the other tables need parents", parent)
		}
	}
	base := platformtest.Getenv(t, "PLATFORM_TEST_MYSQL_URL")
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "mysql" || u.User == nil {
		t.Fatalf("PLATFORM_TEST_MYSQL_URL is not a mysql://user:pass@host:port/ URL: run scripts/dev-services up and eval its env")
	}
	pw, _ := u.User.Password()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr = u.User.Username(), pw, "tcp", u.Host
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Loc = time.UTC
	cfg.InterpolateParams = true // multi-row INSERTs in one round trip each
	cfg.MultiStatements = true   // the schema in one Exec
	// As the PHP app ran: no strict mode, zero dates accepted.
	cfg.Params = map[string]string{"sql_mode": "'NO_ENGINE_SUBSTITUTION'"}
	ctx := t.Context()

	var rnd [6]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("importtest: random: %v", err)
	}
	name := SiscaDatabasePrefix + hex.EncodeToString(rnd[:])
	admin := mysqlOpen(t, cfg)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_spanish_ci"); err != nil {
		t.Fatalf("importtest: create database %s on %s: %v (run scripts/dev-services up)", name, cfg.Addr, err)
	}
	t.Cleanup(func() {
		// t.Context() is over by now.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("importtest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg.DBName = name
	db := mysqlOpen(t, cfg)
	defer db.Close()
	if _, err := db.ExecContext(ctx, siscaSchema); err != nil {
		t.Fatalf("importtest: SISCA schema: %v", err)
	}

	dt := func(d time.Duration) string { return siscaEpoch.Add(d).Format("2006-01-02 15:04:05") }
	day := func(d int) string { return siscaEpoch.AddDate(0, 0, d).Format("2006-01-02") }

	// usuarios
	logins := SiscaLogins()
	generated := hashPassword(t, GeneratedPassword, "$2y$")
	type pwCols struct{ plain, hash any }
	stored := make([]pwCols, len(logins))
	for i, l := range logins {
		switch {
		case l.Stored == StoredEmpty:
			stored[i] = pwCols{"", nil}
		case l.Stored == StoredPlaintext:
			stored[i] = pwCols{l.Password, nil}
		case l.Username == "atorres": // hashed by a script into the old column
			stored[i] = pwCols{hashPassword(t, l.Password, "$2y$"), nil}
		default:
			stored[i] = pwCols{nil, hashPassword(t, l.Password, "$2y$")}
		}
	}
	nUsers := n("usuarios")
	user := func(i int) []any {
		username, full, rol, p := fmt.Sprintf("usuario%04d", i+1), fmt.Sprintf("Usuario Generado %d", i+1), "docente", pwCols{nil, generated}
		if i < len(logins) {
			username, full, rol, p = logins[i].Username, siscaUserNames[i], siscaRoles[i], stored[i]
		}
		mustChange, failed, locked, active := 0, 0, 0, 1
		var lockedAt any
		last := dt(time.Duration(24*30+i*5) * time.Hour)
		switch username {
		case "jramirez":
			failed = 3
		case "prefecto1":
			failed, locked, lockedAt = 5, 1, dt(24*40*time.Hour)
		case "invitado":
			active, last = 0, "0000-00-00 00:00:00" // never logged in
		case "rnavarro":
			mustChange = 1 // an administrator reset it
		}
		var email any
		if username != "invitado" {
			email = username + "@itsisca.edu.mx"
		}
		return []any{i + 1, username, p.plain, p.hash, full, email, rol, mustChange, failed, locked, lockedAt, active, last, dt(-time.Duration(400-i%400) * 24 * time.Hour)}
	}
	userCols := []string{"id", "nombre_usuario", "`contraseña`", "`contraseña_hash`", "nombre_completo", "correo", "rol", "debe_cambiar_password",
		"intentos_fallidos", "bloqueado", "fecha_bloqueo", "activo", "ultimo_acceso", "fecha_creacion"}
	mysqlInsert(t, db, "usuarios", userCols, nUsers, user)
	// Duplicates: the same login typed again with a capital (the index on
	// nombre_usuario is not unique).
	mysqlInsert(t, db, "usuarios", userCols, opt.Duplicates, func(i int) []any {
		r := user(i)
		r[0], r[1], r[5] = nUsers+i+1, caseTwin(r[1].(string)), nil
		return r
	})

	nPeriods := n("periodos")
	mysqlInsert(t, db, "periodos", []string{"id", "clave", "nombre", "fecha_inicio", "fecha_fin", "activo"}, nPeriods, func(i int) []any {
		year, half := 2024+i/2, i%2
		names := []string{"Enero–Junio", "Agosto–Diciembre"}
		start := time.Date(year, []time.Month{1, 8}[half], 15, 0, 0, 0, 0, time.UTC)
		active := 0
		if i == nPeriods-1 {
			active = 1
		}
		return []any{i + 1, fmt.Sprintf("%d-%d", year, half+1), fmt.Sprintf("%s %d", names[half], year), start.Format("2006-01-02"), start.AddDate(0, 5, 13).Format("2006-01-02"), active}
	})
	nPrograms := n("programas")
	mysqlInsert(t, db, "programas", []string{"id", "clave", "nombre", "modalidad", "activo"}, nPrograms, func(i int) []any {
		return []any{i + 1, numbered(siscaProgKeys, i, "%s%d"), numbered(siscaPrograms, i, "%s %d"), pick([]string{"escolarizada", "escolarizada", "mixta", "en línea"}, i), 1}
	})
	nSubjects := n("materias")
	mysqlInsert(t, db, "materias", []string{"id", "clave", "nombre", "creditos", "horas_teoria", "horas_practica", "horas_semana"}, nSubjects, func(i int) []any {
		theory, practice := 2+i%3, 1+i%3
		return []any{i + 1, numbered(siscaSubjKeys, i, "%s-%d"), numbered(siscaSubjects, i, "%s %d"), theory + practice, theory, practice, theory + practice}
	})
	mysqlInsert(t, db, "programa_materias", []string{"programa_id", "materia_id", "semestre"}, n("programa_materias"), func(i int) []any {
		// Distinct (programa, materia) pairs while there are enough.
		return []any{i%nPrograms + 1, (i/nPrograms)%nSubjects + 1, 1 + (i/nPrograms)%9}
	})
	nGroups := n("grupos")
	mysqlInsert(t, db, "grupos", []string{"id", "programa_id", "periodo_id", "clave", "semestre", "turno", "aula"}, nGroups, func(i int) []any {
		key := numbered(siscaGroupKeys, i, "%s-%d")
		var room any
		if i%4 != 3 {
			room = fmt.Sprintf("Edificio %c-%d", 'A'+rune(i%4), 101+i%20)
		}
		return []any{i + 1, i%nPrograms + 1, nPeriods, key, int(key[0]-'0') % 10, pick(siscaShifts, i), room}
	})
	nTeachers := n("docentes")
	// The teachers who are also users: jramirez, mcastaneda, rnavarro.
	teacherUser := map[int]int{0: 3, 1: 4, 2: 8}
	mysqlInsert(t, db, "docentes", []string{"id", "numero_empleado", "nombre", "apellido_paterno", "apellido_materno", "grado_academico", "correo", "telefono", "horas_contrato", "usuario_id", "activo"}, nTeachers, func(i int) []any {
		var last2, uid, phone any
		if s := pick(siscaLast2, i); s != "" {
			last2 = s
		}
		if id, ok := teacherUser[i]; ok && id <= nUsers {
			uid = id
		}
		if i%3 != 2 {
			phone = fmt.Sprintf("+52 55 %04d %04d", 5000+i%5000, (i*7331)%10000)
		}
		first := pick(siscaFirst, i)
		return []any{i + 1, fmt.Sprintf("D-%04d", 1001+i), first, pick(siscaLast1, i), last2, pick(siscaDegrees, i),
			fmt.Sprintf("docente%d@itsisca.edu.mx", i+1), phone, fmt.Sprintf("%d.%02d", 20+i%21, []int{0, 50, 0, 25}[i%4]), uid, boolInt(i%6 != 5)}
	})
	mysqlInsert(t, db, "horarios", []string{"id", "periodo_id", "nombre_archivo", "contenido", "archivo", "subido_por", "fecha_subida"}, n("horarios"), func(i int) []any {
		p := i%nPeriods + 1
		content := fmt.Sprintf(`{"hoja":"Horario","grupos":[{"clave":"3A","lunes":"07:00–09:00 Estructura de Datos","martes":"09:00–11:00 Cálculo Integral"}],"periodo":%d}`, p)
		return []any{i + 1, p, fmt.Sprintf("horarios_periodo_%d_versión_%d.xlsx", p, i+1), content, []byte("PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe"), 1, dt(time.Duration(i*24*20) * time.Hour)}
	})
	load := func(i int) []any {
		return []any{i + 1, (i/(nGroups*nSubjects))%nPeriods + 1, i%nGroups + 1, i%nTeachers + 1, (i/nGroups)%nSubjects + 1, 2 + i%4, 2, dt(time.Duration(i*37) * time.Minute)}
	}
	loadCols := []string{"id", "periodo_id", "grupo_id", "docente_id", "materia_id", "horas_semana", "asignado_por", "fecha_asignacion"}
	nLoads := n("carga_academica")
	mysqlInsert(t, db, "carga_academica", loadCols, nLoads, load)
	// Orphans: loads of teachers deleted from docentes by hand.
	mysqlInsert(t, db, "carga_academica", loadCols, opt.Orphans, func(i int) []any {
		r := load(nLoads + i)
		r[3] = siscaOrphanTeacherBase + i + 1
		return r
	})
	mysqlInsert(t, db, "tutorias", []string{"id", "periodo_id", "grupo_id", "docente_id", "fecha", "hora_inicio", "tema", "asistentes", "observaciones"}, n("tutorias"), func(i int) []any {
		var notes any
		if i%2 == 0 {
			notes = "Se canalizó a un alumno con el área de psicología."
		}
		return []any{i + 1, nPeriods, i%nGroups + 1, i%nTeachers + 1, day(7 + i*9), fmt.Sprintf("%02d:%02d:00", 12+i%6, []int{0, 30}[i%2]), pick(siscaTopics, i), 8 + i%25, notes}
	})
	mysqlInsert(t, db, "prefectura", []string{"id", "periodo_id", "grupo_id", "docente_id", "registrado_por", "fecha", "hora", "tipo", "descripcion"}, n("prefectura"), func(i int) []any {
		var teacher any
		kind := pick(siscaReports, i)
		if kind != "incidencia" {
			teacher = i%nTeachers + 1
		}
		return []any{i + 1, nPeriods, i%nGroups + 1, teacher, min(5, nUsers), day(3 + i*4), fmt.Sprintf("%02d:%02d:00", 7+i%12, (i*10)%60), kind, pick(siscaReportTxt, i)}
	})
	mysqlInsert(t, db, "auditoria", []string{"id", "usuario_id", "accion", "tabla_afectada", "registro_id", "detalle", "ip", "fecha"}, n("auditoria"), func(i int) []any {
		action := pick(siscaActions, i)
		var table, rec any
		if action == "alta_usuario" || action == "desbloqueo_cuenta" || action == "bloqueo_cuenta" {
			table, rec = "usuarios", i%nUsers+1
		}
		uid := i%nUsers + 1
		if uid == 7 { // the guest (no password, not imported) did nothing
			uid = 1
		}
		return []any{i + 1, uid, action, table, rec, fmt.Sprintf("Acción %s desde el panel de administración", action), fmt.Sprintf("10.10.%d.%d", i%4, 20+i%200), dt(time.Duration(i*90) * time.Minute)}
	})

	q := url.URL{Scheme: "mysql", User: u.User, Host: u.Host, Path: "/" + name}
	return q.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func mysqlOpen(t testing.TB, cfg *mysql.Config) *sql.DB {
	t.Helper()
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatalf("importtest: mysql settings: %v", err)
	}
	db := sql.OpenDB(conn)
	if err := db.PingContext(t.Context()); err != nil {
		db.Close()
		t.Fatalf("importtest: MariaDB on %s does not answer: %v (run scripts/dev-services up)", cfg.Addr, err)
	}
	return db
}

// mysqlBatch is the rows of one multi-row INSERT: a million rows take a
// thousand round trips, each well under max_allowed_packet.
const mysqlBatch = 1000

// mysqlInsert inserts n rows made by row(i), i from 0, in multi-row INSERTs.
func mysqlInsert(t testing.TB, db *sql.DB, table string, cols []string, n int, row func(i int) []any) {
	t.Helper()
	one := "(?" + strings.Repeat(", ?", len(cols)-1) + ")"
	head := "INSERT INTO `" + table + "` (" + strings.Join(cols, ", ") + ") VALUES "
	for start := 0; start < n; start += mysqlBatch {
		end := min(start+mysqlBatch, n)
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, (end-start)*len(cols))
		for i := start; i < end; i++ {
			if i > start {
				q.WriteString(", ")
			}
			q.WriteString(one)
			args = append(args, row(i)...)
		}
		if _, err := db.ExecContext(t.Context(), q.String(), args...); err != nil {
			t.Fatalf("importtest: insert into %s (rows %d–%d): %v", table, start+1, end, err)
		}
	}
}
