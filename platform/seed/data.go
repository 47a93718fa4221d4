package seed

// The Spanish-language vocabulary of the demo data. The SQL combines these
// lists by row number, so a handful of names give thousands of plausible,
// distinct people.

var firstNames = []string{
	"María", "José", "Francisca", "Juan", "Catalina", "Diego", "Valentina", "Matías",
	"Javiera", "Benjamín", "Constanza", "Sebastián", "Camila", "Felipe", "Fernanda",
	"Cristóbal", "Isidora", "Tomás", "Antonia", "Vicente", "Daniela", "Joaquín",
	"Carolina", "Ignacio", "Paula", "Nicolás", "Macarena", "Rodrigo", "Sofía", "Andrés",
	"Gabriela", "Pablo", "Josefa", "Martín", "Florencia", "Alejandro", "Trinidad",
	"Claudio", "Verónica", "Héctor", "Lucía", "Ramón", "Marcela", "Patricio", "Ximena",
	"Gonzalo", "Bárbara", "Ricardo", "Soledad", "Hernán",
}

var lastNames = []string{
	"González", "Muñoz", "Rojas", "Díaz", "Pérez", "Soto", "Contreras", "Silva",
	"Martínez", "Sepúlveda", "Morales", "Rodríguez", "López", "Fuentes", "Hernández",
	"Torres", "Araya", "Flores", "Espinoza", "Valenzuela", "Castillo", "Tapia", "Reyes",
	"Gutiérrez", "Castro", "Pizarro", "Álvarez", "Vásquez", "Sánchez", "Fernández",
	"Ramírez", "Carrasco", "Gómez", "Cortés", "Herrera", "Núñez", "Jara", "Vergara",
	"Rivera", "Figueroa", "Riquelme", "García", "Miranda", "Bravo", "Vera", "Molina",
	"Vega", "Campos", "Sandoval", "Orellana", "Zúñiga", "Olivares", "Alarcón", "Gallardo",
	"Ortiz", "Garrido", "Salazar", "Guzmán", "Henríquez", "Saavedra",
}

var emailDomains = []string{"gmail.com", "hotmail.com", "outlook.com", "yahoo.es", "vtr.net", "live.cl", "uc.cl", "icloud.com"}

// --- Restaurant: "Sabores de Chile", a chain of Chilean cuisine.

const brand = "Sabores de Chile"

type branch struct {
	Name, Address, Phone, TimeZone string
	Seats                          int // seats per 30-minute reservation slot
}

// branches: the first three are the small chain; all twelve the large one.
// The first takes the place of the branch made with the tenant.
var branches = []branch{
	{"Casa matriz", "Av. Providencia 2124, Providencia, Santiago", "+56 2 2233 4510", "America/Santiago", 60},
	{"Ñuñoa", "Av. Irarrázaval 3450, Ñuñoa, Santiago", "+56 2 2274 8812", "America/Santiago", 45},
	{"Viña del Mar", "Av. San Martín 520, Viña del Mar", "+56 32 268 1190", "America/Santiago", 40},
	{"Las Condes", "Av. Apoquindo 4800, Las Condes, Santiago", "+56 2 2946 3301", "America/Santiago", 54},
	{"Valparaíso", "Almirante Montt 81, Cerro Alegre, Valparaíso", "+56 32 259 7420", "America/Santiago", 30},
	{"Concepción", "Barros Arana 1068, Concepción", "+56 41 224 5576", "America/Santiago", 48},
	{"La Serena", "Av. del Mar 2150, La Serena", "+56 51 221 9034", "America/Santiago", 42},
	{"Antofagasta", "Av. Grecia 1490, Antofagasta", "+56 55 226 3387", "America/Santiago", 36},
	{"Temuco", "Av. Alemania 0945, Temuco", "+56 45 231 6624", "America/Santiago", 36},
	{"Puerto Varas", "Del Salvador 257, Puerto Varas", "+56 65 223 4158", "America/Santiago", 30},
	{"Rancagua", "Av. Libertador B. O'Higgins 611, Rancagua", "+56 72 222 7843", "America/Santiago", 33},
	{"Punta Arenas", "Av. Colón 782, Punta Arenas", "+56 61 224 9917", "America/Punta_Arenas", 30},
}

var menuCategories = []string{"Entradas", "Empanadas", "Platos de fondo", "Sándwiches", "Ensaladas", "Postres", "Bebidas", "Vinos y cervezas"}

type dish struct {
	Category, Name, Description string
	Pesos                       int // CLP has no decimals: price_cents = pesos × 100
}

var menu = []dish{
	{"Entradas", "Sopaipillas con pebre", "Cuatro sopaipillas de zapallo con pebre cuchareado", 3900},
	{"Entradas", "Machas a la parmesana", "Doce machas gratinadas con queso parmesano", 9900},
	{"Entradas", "Ceviche de reineta", "Reineta marinada en limón de pica, cilantro y ají verde", 8500},
	{"Entradas", "Locos con mayonesa", "Dos locos con mayonesa casera y papas mayo", 12900},
	{"Entradas", "Provoleta a la parrilla", "Queso provolone con orégano y tomate asado", 6900},
	{"Entradas", "Choritos al vapor", "Choritos con vino blanco, ajo y cilantro", 7500},
	{"Empanadas", "Empanada de pino", "Carne, cebolla, huevo, aceituna y pasas, al horno", 2900},
	{"Empanadas", "Empanada de queso", "Frita, con queso mantecoso", 2500},
	{"Empanadas", "Empanada de mariscos", "Frita, con mariscos y queso", 3500},
	{"Empanadas", "Empanada napolitana", "Queso, jamón, tomate y orégano", 2900},
	{"Empanadas", "Empanada de camarón queso", "Frita, con camarones y queso", 3500},
	{"Empanadas", "Empanada de pollo champiñón", "Al horno, con salsa blanca", 2900},
	{"Platos de fondo", "Pastel de choclo", "Pino de carne y pollo bajo pastelera de choclo, gratinado con azúcar", 9900},
	{"Platos de fondo", "Cazuela de vacuno", "Osobuco, papa, zapallo, choclo y porotos verdes", 8900},
	{"Platos de fondo", "Charquicán", "Guiso de zapallo, papa y carne, con huevo frito", 7900},
	{"Platos de fondo", "Porotos con riendas", "Porotos con tallarines y longaniza", 7500},
	{"Platos de fondo", "Lomo a lo pobre", "Lomo vetado con papas fritas, cebolla caramelizada y dos huevos", 13900},
	{"Platos de fondo", "Plateada con puré picante", "Plateada al jugo cocida doce horas", 12500},
	{"Platos de fondo", "Caldillo de congrio", "Congrio colorado, papas y cilantro, a la manera de Neruda", 11900},
	{"Platos de fondo", "Chupe de jaibas", "Jaiba desmenuzada con pan remojado y queso gratinado", 12900},
	{"Platos de fondo", "Paila marina", "Mariscos y pescado en caldo, servida en paila de greda", 13500},
	{"Platos de fondo", "Humitas con ensalada chilena", "Dos humitas de choclo con tomate y cebolla", 7900},
	{"Platos de fondo", "Tacos al pastor", "Tres tacos de cerdo al pastor con piña, cilantro y cebolla", 8900},
	{"Platos de fondo", "Enchiladas verdes", "Rellenas de pollo, con salsa de tomatillo y crema", 9500},
	{"Platos de fondo", "Merluza frita con agregado", "Merluza austral apanada con arroz o papas", 9900},
	{"Sándwiches", "Barros Luco", "Carne de vacuno y queso fundido en marraqueta", 7900},
	{"Sándwiches", "Chacarero", "Churrasco, porotos verdes, tomate y ají verde", 8500},
	{"Sándwiches", "Completo italiano", "Vienesa con palta, tomate y mayonesa", 3900},
	{"Sándwiches", "Lomito palta", "Lomito de cerdo con palta en pan frica", 7500},
	{"Sándwiches", "Churrasco italiano", "Churrasco con tomate, palta y mayonesa", 7900},
	{"Sándwiches", "Chemilico", "Churrasco, huevo frito, lechuga y cebolla", 7900},
	{"Ensaladas", "Ensalada chilena", "Tomate, cebolla pluma y cilantro", 3500},
	{"Ensaladas", "Ensalada surtida", "Lechuga, tomate, palta, choclo y zanahoria", 4500},
	{"Ensaladas", "Ensalada de quinoa", "Quinoa, palta, tomate cherry y queso de cabra", 6900},
	{"Postres", "Leche asada", "Postre de leche, huevo y caramelo", 3500},
	{"Postres", "Mote con huesillo", "Mote de trigo con duraznos deshidratados en jugo", 3200},
	{"Postres", "Sopaipillas pasadas", "Sopaipillas en chancaca con canela y naranja", 3900},
	{"Postres", "Torta de mil hojas", "Con manjar y nueces", 4500},
	{"Postres", "Papayas con crema", "Papayas de La Serena en almíbar", 3900},
	{"Postres", "Alfajor de manjar", "Con baño de chocolate", 2200},
	{"Bebidas", "Jugo natural de frambuesa", "Vaso de 400 ml", 3500},
	{"Bebidas", "Limonada menta jengibre", "Vaso de 400 ml", 3500},
	{"Bebidas", "Bebida en lata", "350 ml", 1900},
	{"Bebidas", "Agua mineral", "Con o sin gas, 500 ml", 1800},
	{"Bebidas", "Café de grano", "Espresso, americano o cortado", 2200},
	{"Bebidas", "Agua de horchata", "Vaso de 400 ml", 3200},
	{"Vinos y cervezas", "Pisco sour", "Pisco del Elqui, limón de pica y clara de huevo", 5500},
	{"Vinos y cervezas", "Terremoto", "Pipeño, helado de piña y granadina", 4900},
	{"Vinos y cervezas", "Copa de carménère", "Valle del Colchagua", 5200},
	{"Vinos y cervezas", "Botella de cabernet sauvignon", "Valle del Maipo, 750 ml", 18900},
	{"Vinos y cervezas", "Cerveza artesanal", "Ambar o stout, 330 ml", 4500},
	{"Vinos y cervezas", "Michelada", "Cerveza con limón, sal y salsa", 4900},
}

var customerNotes = []string{
	"Alérgica a los mariscos", "Prefiere mesa en la terraza", "Cliente frecuente",
	"Celíaco: pedir opciones sin gluten", "Vegetariana", "Cumpleaños en marzo",
	"Pide siempre la cuenta separada", "Trae coche de bebé",
}

var orderNotes = []string{
	"Sin cebolla, por favor", "Depto 1204, torre B; tocar el citófono", "Para llevar con servicios",
	"Empanadas bien doraditas", "Dejar en conserjería", "Sin ají", "Pagará con transferencia",
	"Salsa aparte",
}

var reservationNotes = []string{
	"Mesa junto a la ventana", "Celebración de cumpleaños", "Silla para bebé",
	"Acceso para silla de ruedas", "Cena de empresa", "Aniversario: traer postre con vela",
}

var messageErrors = []string{"Número de destino no válido", "Buzón de correo lleno", "El destinatario bloqueó los mensajes", "Tiempo de espera agotado en el proveedor"}

// --- Institution: "Universidad del Valle Central", in Chile.

const universityDomain = "uvc.cl"

type period struct {
	Code, Name, StartsOn, EndsOn string
}

// periods: the small seed has the last three; the large one all of them.
var periods = []period{
	{"2019-1", "Primer semestre 2019", "2019-03-04", "2019-07-19"},
	{"2019-2", "Segundo semestre 2019", "2019-08-05", "2019-12-20"},
	{"2020-1", "Primer semestre 2020", "2020-03-02", "2020-07-17"},
	{"2020-2", "Segundo semestre 2020", "2020-08-03", "2020-12-18"},
	{"2021-1", "Primer semestre 2021", "2021-03-01", "2021-07-16"},
	{"2021-2", "Segundo semestre 2021", "2021-08-02", "2021-12-17"},
	{"2022-1", "Primer semestre 2022", "2022-03-07", "2022-07-22"},
	{"2022-2", "Segundo semestre 2022", "2022-08-08", "2022-12-23"},
	{"2023-1", "Primer semestre 2023", "2023-03-06", "2023-07-21"},
	{"2023-2", "Segundo semestre 2023", "2023-08-07", "2023-12-22"},
	{"2024-1", "Primer semestre 2024", "2024-03-04", "2024-07-19"},
	{"2024-2", "Segundo semestre 2024", "2024-08-05", "2024-12-20"},
	{"2025-1", "Primer semestre 2025", "2025-03-03", "2025-07-18"},
	{"2025-2", "Segundo semestre 2025", "2025-08-04", "2025-12-19"},
	{"2026-1", "Primer semestre 2026", "2026-03-02", "2026-07-17"},
}

type program struct {
	Code, Name string
	Evening    bool // also has an evening (vespertino) section
	// Subjects, one per semester from the first.
	Subjects []string
}

var programs = []program{
	{"ICI", "Ingeniería Civil Informática", true, []string{"Introducción a la Programación", "Estructuras de Datos", "Algoritmos y Complejidad", "Bases de Datos", "Sistemas Operativos", "Redes de Computadores", "Ingeniería de Software", "Seguridad Informática"}},
	{"DER", "Derecho", true, []string{"Introducción al Derecho", "Derecho Romano", "Derecho Constitucional", "Derecho Civil: Obligaciones", "Derecho Penal", "Derecho Procesal", "Derecho del Trabajo", "Derecho Comercial"}},
	{"ENF", "Enfermería", false, []string{"Anatomía Humana", "Fisiología", "Fundamentos de Enfermería", "Farmacología", "Enfermería Médico-Quirúrgica", "Enfermería Materno-Infantil", "Salud Comunitaria", "Gestión del Cuidado"}},
	{"PSI", "Psicología", false, []string{"Introducción a la Psicología", "Psicología del Desarrollo", "Neurociencias", "Psicología Social", "Evaluación Psicológica", "Psicopatología", "Psicología Clínica", "Psicología Organizacional"}},
	{"ICO", "Ingeniería Comercial", true, []string{"Introducción a la Economía", "Contabilidad Financiera", "Microeconomía", "Macroeconomía", "Finanzas Corporativas", "Marketing", "Gestión de Personas", "Estrategia Empresarial"}},
	{"ARQ", "Arquitectura", false, []string{"Taller de Arquitectura I", "Geometría Descriptiva", "Historia de la Arquitectura", "Taller de Arquitectura II", "Estructuras", "Urbanismo", "Construcción", "Taller de Titulación"}},
	{"KIN", "Kinesiología", false, []string{"Biología Celular", "Anatomía del Aparato Locomotor", "Biomecánica", "Fisiología del Ejercicio", "Kinesiología Respiratoria", "Neurorrehabilitación", "Kinesiología Deportiva", "Práctica Clínica"}},
	{"PHI", "Pedagogía en Historia y Geografía", false, []string{"Historia de Chile Colonial", "Geografía Física", "Historia de América", "Didáctica de la Historia", "Historia Contemporánea", "Geografía de Chile", "Evaluación Educativa", "Práctica Profesional Docente"}},
	{"TSO", "Trabajo Social", true, []string{"Fundamentos del Trabajo Social", "Sociología", "Políticas Sociales", "Metodología de la Investigación Social", "Trabajo Social Comunitario", "Familia y Sociedad", "Intervención en Crisis", "Gestión de Proyectos Sociales"}},
	{"NUT", "Nutrición y Dietética", false, []string{"Química General", "Bioquímica", "Ciencia de los Alimentos", "Nutrición Humana", "Dietoterapia", "Salud Pública", "Gestión de Servicios de Alimentación", "Nutrición Clínica"}},
}

// commonSubjects are taught to every program in the semester given
// (institutional general education).
var commonSubjects = []struct {
	Code, Name string
	Semester   int
}{
	{"FGE101", "Comunicación Oral y Escrita", 1},
	{"FGE102", "Inglés I", 2},
	{"FGE201", "Inglés II", 3},
	{"FGE202", "Ética y Responsabilidad Social", 4},
}

var tutoringTopics = []string{
	"Técnicas de estudio y organización del tiempo", "Seguimiento de asistencia y rendimiento",
	"Preparación para certámenes", "Orientación sobre becas y beneficios",
	"Bienestar estudiantil y salud mental", "Elección de electivos y malla curricular",
	"Inducción a la vida universitaria", "Reforzamiento de contenidos del primer certamen",
	"Prácticas profesionales", "Trabajo en equipo y convivencia del curso",
}

var tutoringNotes = []string{
	"Se revisó el avance de cada estudiante y se acordaron metas para las próximas semanas.",
	"Varios estudiantes manifestaron dificultades con la carga académica; se derivaron dos casos a la Unidad de Apoyo.",
	"El grupo solicitó material complementario, que se compartió en el aula virtual.",
	"Se explicaron los requisitos de postulación a la beca de alimentación y a la gratuidad.",
	"Se detectaron inasistencias reiteradas; se contactará a los apoderados de los estudiantes de primer año.",
	"Buena participación; se propuso un calendario de estudio para el periodo de certámenes.",
}

// prefectureTexts are two descriptions for each kind of report, in the
// order of the schema's kinds.
var prefectureTexts = []struct{ Kind, A, B string }{
	{"teacher_absent", "El docente no se presentó a la clase y no hubo aviso previo; se informó a la dirección de carrera.",
		"Ausencia del docente por licencia médica; la clase se recuperará el sábado."},
	{"teacher_late", "El docente llegó con veinte minutos de retraso por un problema de transporte.",
		"La clase comenzó quince minutos después de la hora; el docente avisó por correo."},
	{"early_dismissal", "La clase terminó cuarenta minutos antes del horario establecido.",
		"Los estudiantes fueron despachados antes de tiempo para asistir a una charla."},
	{"incident", "Se registró una falla del proyector en la sala; los estudiantes fueron reubicados.",
		"Corte de luz en el edificio durante el bloque; se suspendió la actividad."},
	{"other", "Estudiantes informaron que la sala estaba cerrada al inicio del bloque.",
		"La sala no tenía mobiliario suficiente para los estudiantes inscritos."},
}

var rooms = []string{"A-101", "A-204", "B-105", "B-310", "C-012", "C-220", "D-301", "Laboratorio 2", "Auditorio Central", "Sala de Simulación"}

var weekdays = []string{"lunes", "martes", "miércoles", "jueves", "viernes"}

var blockStarts = []string{"08:30", "10:15", "12:00", "14:30", "16:15", "18:45"}
